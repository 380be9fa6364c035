"""Knowledge-type packs and the database schema (constraints, indexes, KnowledgeType nodes).

A *type pack* (``schema/packs/<name>.yaml``) fixes the knowledge-point types of a domain, each with a
one-line definition that prompts and the offline extractor use. The database holds exactly the
active pack's types as ``(:KnowledgeType {name, definition, pack})`` nodes; every write of a typed
node checks its type against them in the same transaction and refuses the whole batch otherwise.

The database enforces the same rule for every client (Browser, cypher-shell, a user's driver): APOC
triggers (``schema/triggers/*.cypher``, phase ``before``) that :func:`apply` installs refuse any
transaction that leaves a mention, concept, ``HAS_KNOWLEDGE`` or ``INTERESTED_IN`` of a type outside the
``(:KnowledgeType)`` nodes (see :func:`install_triggers`).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import resources
from .db import Database
from .errors import ConfigError, DimensionMismatch, SchemaError, UnknownTypeError

if TYPE_CHECKING:  # pragma: no cover
    import neo4j

log = logging.getLogger(__name__)

TRIGGER_PREFIX = "kgrec_"
#: how an interaction reads without a pack's word for it ("you interacted with X")
NEUTRAL_VERB = "interacted with"


@dataclass(frozen=True)
class KnowledgeType:
    name: str
    definition: str
    examples: tuple[str, ...] = ()
    #: family relations (BROADER) between its concepts: off where a dropped number or variant word does not give a
    #: broader value (a person: ``Shane Black`` is not of a ``Shane`` family; a rating: ``PG-13`` is not a ``PG``)
    families: bool = True


@dataclass(frozen=True)
class TypePack:
    name: str
    domain: str
    types: tuple[KnowledgeType, ...] = field(default_factory=tuple)
    #: the pack file's absolute path when it is not a shipped pack (``kgrec --pack mine.yaml``), else ""
    path: str = ""
    #: how explanations word an interaction without a rating or a review to read a sign from ("you bought X",
    #: "you watched X"); ``implicit_verb`` in the pack file
    implicit_verb: str = NEUTRAL_VERB
    #: review sentences per label (like, mixed, dislike) of the prototype classifier, in the domain's words
    #: (``review_examples`` in the pack file); empty: its domain-neutral ones
    review_examples: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: words that items of the domain use (``keywords`` in the pack file, lower case): how a first extraction tells
    #: that the catalogue belongs to another shipped pack than the default one (:func:`check_pack_fits`)
    keywords: tuple[str, ...] = ()
    #: keys of ``"Key: values"`` feature lines that are not about the item (``features_left_out`` in the pack file,
    #: lower case): neither extractor reads them (:func:`kgrec_neo4j.extract.base.without_features`)
    features_left_out: tuple[str, ...] = ()

    @property
    def prototypes(self) -> dict[str, list[str]] | None:
        """``review_examples`` as the prototype classifier takes them (label -> sentences); ``None``: none given."""
        return {label: list(sentences) for label, sentences in self.review_examples} or None

    @property
    def arg(self) -> str:
        """What ``--pack`` / KGREC_TYPE_PACK takes for this pack: the shipped name, or the file's path."""
        return self.path or self.name

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.types]

    def get(self, name: str) -> KnowledgeType:
        for t in self.types:
            if t.name == name:
                return t
        raise UnknownTypeError([name], self.names)

    def check(self, names) -> None:
        """Raise :class:`UnknownTypeError` if any of ``names`` is outside the pack."""
        bad = set(names) - set(self.names)
        if bad:
            raise UnknownTypeError(bad, self.names)


def pack_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    return resources.schema_dir() / "packs" / f"{name_or_path}.yaml"


def available_packs() -> list[str]:
    return sorted(p.stem for p in (resources.schema_dir() / "packs").glob("*.yaml"))


#: the keys of a pack file and of each of its types (anything else is refused: a misspelling would be dropped)
PACK_KEYS = ("name", "domain", "types", "implicit_verb", "keywords", "features_left_out", "review_examples")
TYPE_KEYS = ("name", "definition", "examples", "families")


def load_pack(name_or_path: str) -> TypePack:
    """Read and validate a pack by name (``video_games``) or by file path."""
    p = pack_path(name_or_path)
    if not p.is_file() and (Path(name_or_path).suffix in (".yaml", ".yml") or "/" in name_or_path):
        raise SchemaError(f"type pack file {name_or_path!r} not found (looked at {Path(name_or_path).resolve()}); "
                          f"give the path of a .yaml pack file, or a shipped pack: {', '.join(available_packs())}")
    if not p.is_file():
        raise SchemaError(f"type pack {name_or_path!r} not found at {p}; available: {', '.join(available_packs())}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SchemaError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("types"), list) or not data["types"]:
        raise SchemaError(f"{p}: expected a non-empty list 'types' (a pack file has the keys "
                          f"{', '.join(PACK_KEYS)}; all but 'types' are optional)")
    unknown = sorted(map(str, set(data) - set(PACK_KEYS)))  # (YAML reads `on:` or `1:` as a bool or an int)
    if unknown:  # a misspelled key would be dropped without a word
        raise SchemaError(f"{p}: unknown key(s) {', '.join(map(repr, unknown))}; a pack file has {', '.join(PACK_KEYS)}")
    types = []
    for i, t in enumerate(data["types"]):
        which = f"type number {i + 1}" + (f" ({str(t.get('name')).strip()!r})"
                                           if isinstance(t, dict) and str(t.get("name") or "").strip() else "")
        if not isinstance(t, dict) or not str(t.get("name", "")).strip() or not str(t.get("definition", "")).strip():
            raise SchemaError(f"{p}: {which} needs a non-empty 'name' and 'definition'")
        unknown = sorted(map(str, set(t) - set(TYPE_KEYS)))
        if unknown:
            raise SchemaError(f"{p}: {which} has unknown key(s) {', '.join(map(repr, unknown))}; a type has "
                              f"{', '.join(TYPE_KEYS)}")
        if not isinstance(t.get("families", True), bool):
            raise SchemaError(f"{p}: {which}: families must be true or false (got {t['families']!r})")
        types.append(KnowledgeType(str(t["name"]).strip(), str(t["definition"]).strip(),
                                   tuple(str(x) for x in t.get("examples") or ()), t.get("families", True)))
    seen: dict[str, str] = {}
    for t in types:
        if t.name.lower() in seen:
            raise SchemaError(f"{p}: type {t.name!r} is listed twice" + (
                f" (as {seen[t.name.lower()]!r} too: type names are compared without case)"
                if seen[t.name.lower()] != t.name else ""))
        seen[t.name.lower()] = t.name
    names = [t.name for t in types]
    if "Others" not in names:
        raise SchemaError(f"{p}: every pack needs an 'Others' type (got {names})")
    verb = data.get("implicit_verb", NEUTRAL_VERB)
    if not isinstance(verb, str) or not verb.strip():
        raise SchemaError(f"{p}: implicit_verb must be a past-tense verb phrase such as 'bought' or 'watched' "
                          f"(got {verb!r})")
    examples = data.get("review_examples") or {}
    labels = ("like", "mixed", "dislike")
    if not isinstance(examples, dict) or (examples and (set(examples) != set(labels) or not all(
            isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)
            for v in examples.values()))):
        raise SchemaError(f"{p}: review_examples must map each of like, mixed and dislike to a list of review "
                          f"sentences (got {examples!r})")
    keywords = data.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(w, str) and w.strip() for w in keywords):
        raise SchemaError(f"{p}: keywords must be a list of words that the domain's items use (got {keywords!r})")
    left_out = data.get("features_left_out") or []
    if not isinstance(left_out, list) or not all(isinstance(w, str) and w.strip() for w in left_out):
        raise SchemaError(f"{p}: features_left_out must be a list of feature keys (the 'Country' of 'Country: "
                          f"France') that neither extractor reads (got {left_out!r})")
    shipped = p.resolve().parent == (resources.schema_dir() / "packs").resolve()
    return TypePack(str(data.get("name") or p.stem), str(data.get("domain") or ""), tuple(types),
                    "" if shipped else str(p.resolve()), verb.strip(),
                    tuple((lab, tuple(str(x).strip() for x in examples[lab])) for lab in labels if examples),
                    tuple(dict.fromkeys(w.strip().lower() for w in keywords)),
                    tuple(dict.fromkeys(w.strip().lower() for w in left_out)))


#: a first extraction with the default pack is refused when another shipped pack's keywords are in at least this
#: share of the sampled items' text ...
FIT_OTHER = 0.5
#: ... and the default pack's in at most this share (README.md, "Another domain")
FIT_DEFAULT = 0.2
#: items sampled, and the fewest that make a verdict
FIT_SAMPLE, FIT_MIN_ITEMS = 500, 20


def pack_fit(texts: Iterable[str], packs: Iterable[TypePack]) -> dict[str, float]:
    """The share of ``texts`` that contain at least one of each pack's keywords (whole words, any case); packs
    without keywords are left out."""
    texts = [t.lower() for t in texts]
    out = {}
    for pack in packs:
        if pack.keywords and texts:
            pat = re.compile(r"\b(?:" + "|".join(map(re.escape, pack.keywords)) + r")\b")
            out[pack.name] = sum(1 for t in texts if pat.search(t)) / len(texts)
    return out


def check_pack_fits(pack: TypePack, texts: list[str], *, chosen: bool, demo: bool = False) -> dict[str, float]:
    """Raise :class:`ConfigError` when ``pack`` is the default one (``chosen`` false: neither ``--pack``,
    KGREC_TYPE_PACK nor ``kgrec.toml`` named it) and the items' ``texts`` read like another shipped pack's domain:
    its keywords in at least :data:`FIT_OTHER` of them, the default pack's in at most :data:`FIT_DEFAULT`. Films
    typed with the video-game types made "Genre: co-op" nonsense without a word. Returns each shipped pack's share
    (empty below :data:`FIT_MIN_ITEMS` texts, or for a chosen pack: nothing is checked then). ``demo``: the check of
    ``kgrec demo``, before its load writes anything (the error says so and names the demo's own fix)."""
    if chosen or len(texts) < FIT_MIN_ITEMS:
        return {}
    sample = texts if len(texts) <= FIT_SAMPLE else random.Random(0).sample(texts, FIT_SAMPLE)
    fit = pack_fit(sample, [load_pack(n) for n in available_packs()])
    if pack.name not in fit or fit[pack.name] > FIT_DEFAULT:
        return fit
    best = max((n for n in fit if n != pack.name), key=lambda n: fit[n], default=None)
    if best is not None and fit[best] >= FIT_OTHER:
        pct = {n: f"{100 * v:.0f}%" for n, v in fit.items()}
        raise ConfigError(
            f"the items to extract read like type pack {best!r} ({pct[best]} of {len(sample)} sampled items use its "
            f"words), not like {pack.name!r} ({pct[pack.name]}), the default pack this command runs with because "
            f"neither --pack, KGREC_TYPE_PACK nor kgrec.toml chose one; nothing was "
            + (f"loaded. To use {best!r}: `kgrec --pack {best} demo ...` (the demo applies its schema)" if demo else
               f"extracted. To use {best!r}: `kgrec --pack {best} schema apply`, then run the command with "
               f"`kgrec --pack {best} ...`")
            + f" (or export KGREC_TYPE_PACK={best}). To keep {pack.name!r}, choose it: `--pack {pack.name}` or "
            f"KGREC_TYPE_PACK={pack.name}. For a domain no shipped pack is made for, propose one from the catalogue "
            f"with `kgrec types discover`.")
    return fit


def pack_arg(db: Database, name: str) -> str:
    """What ``--pack`` takes for the pack named ``name`` that the database was set up with: a shipped pack's name,
    else the file ``kgrec schema apply`` read it from (its name alone is refused as an unknown pack)."""
    if name in available_packs():
        return name
    return _file_arg(name, db.value(_PACK_FILE, name=name))


#: the file `kgrec schema apply` read pack $name from (null for a shipped pack)
_PACK_FILE = "MATCH (m:SchemaInfo {id: 'schema'}) WHERE m.pack = $name RETURN m.pack_file AS f"


def _file_arg(name: str, path: str | None) -> str:
    return str(path) if path else f"<the .yaml file of pack {name!r}>"


def _statements(text: str) -> list[str]:
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in text.split(";") if s.strip()]


def schema_statements() -> list[tuple[str, str]]:
    """(file name, statement) for every DDL statement in ``schema/*.cypher``, in file order."""
    out = []
    for f in sorted(resources.schema_dir().glob("*.cypher")):
        out += [(f.name, s) for s in _statements(f.read_text(encoding="utf-8"))]
    return out


def _declared_names() -> tuple[set[str], set[str]]:
    cons, idx = set(), set()
    for _, s in schema_statements():
        m = re.match(r"CREATE\s+CONSTRAINT\s+(\w+)", s, re.I)
        if m:
            cons.add(m.group(1))
        m = re.match(r"CREATE\s+(?:VECTOR\s+)?INDEX\s+(\w+)", s, re.I)
        if m:
            idx.add(m.group(1))
    return cons, idx


def vector_index_dimension(db: Database, name: str = "concept_embedding") -> int | None:
    rows = db.query("SHOW VECTOR INDEXES YIELD name, options WHERE name = $name RETURN options", name=name)
    if not rows:
        return None
    return int(rows[0]["options"]["indexConfig"]["vector.dimensions"])


def check_dimension(db: Database, dim: int, name: str = "concept_embedding") -> None:
    """Refuse a model whose dimension differs from the vector index's."""
    have = vector_index_dimension(db, name)
    if have is not None and have != dim:
        raise DimensionMismatch(
            f"the vector index {name!r} has dimension {have} but the embedding model gives {dim}. "
            f"Either configure the model the index was built with, or rebuild: "
            f"`kgrec schema apply --rebuild-vector-index` (concept embeddings are then recomputed by "
            f"`kgrec concepts build`)."
        )


#: the metadata of the transactions that write (:KnowledgeType) nodes: the type trigger refuses any other writer
APPLY_METADATA = {"kgrec": "schema apply"}


def apply(db: Database, pack: TypePack, *, dim: int, rebuild_vector_index: bool = False, triggers: bool = True,
          trigger_wait_s: float = 70.0) -> dict[str, Any]:
    """Create constraints and indexes (idempotent), make the KnowledgeType nodes equal the pack, and install the
    type triggers (:func:`install_triggers`, unless ``triggers`` is false; ``report["triggers"]`` says what
    happened).

    Types of the pack are merged; a type in the database but not in the pack is removed only if
    nothing refers to it (otherwise :class:`SchemaError` says which nodes still use it).
    """
    if rebuild_vector_index:
        db.write("DROP INDEX concept_embedding IF EXISTS")
    else:
        check_dimension(db, dim)
    for fname, stmt in schema_statements():
        try:
            db.write(stmt, dim=dim)
        except Exception as e:  # neo4j.exceptions.ClientError and friends
            raise SchemaError(f"schema/{fname}: statement failed: {e}") from e
    db.write("CALL db.awaitIndexes(300)")
    # before the pack's types are written: a refused switch left them beside the old ones (both packs accepted)
    stale = db.query("MATCH (k:KnowledgeType) WHERE NOT k.name IN $names RETURN k.name AS name, k.pack AS pack",
                     names=pack.names)
    used = used_types(db, [r["name"] for r in stale]) if stale else {}
    in_use = [r for r in stale if r["name"] in used]
    if in_use:
        built = sorted({r["pack"] for r in in_use if r["pack"]})
        arg = pack_arg(db, built[0]) if len(built) == 1 else ""
        use = f"`kgrec --pack {arg} ...` or KGREC_TYPE_PACK={arg}" if arg else "KGREC_TYPE_PACK"
        raise SchemaError(
            f"the database has knowledge types outside pack {pack.name!r} that the graph still uses: "
            + ", ".join(f"{r['name']} ({used[r['name']][0]} concepts, {used[r['name']][1]} mentions)" for r in in_use)
            + f"; nothing was changed. Use the pack the data was built with ({use}), or start from an empty "
            f"database (the local server: `kgrec db stop`, delete {db.settings.home_path / 'neo4j' / 'data'}, "
            f"`kgrec db start`)."
        )
    rows = [{"name": t.name, "definition": t.definition, "examples": list(t.examples)} for t in pack.types]
    db.write(
        "UNWIND $rows AS r MERGE (k:KnowledgeType {name: r.name}) "
        "SET k.definition = r.definition, k.examples = r.examples, k.pack = $pack",
        rows=rows, pack=pack.name, tx_metadata=APPLY_METADATA,
    )
    if stale:  # the ids their pruned concepts had stay retired (cypher/concepts/taken_ids.cypher)
        db.write(
            "MATCH (k:KnowledgeType) WHERE NOT k.name IN $names WITH collect(k) AS gone "
            "CALL (gone) { UNWIND gone AS t UNWIND coalesce(t.retired_concepts, []) AS id "
            "  WITH collect(DISTINCT id) AS ids WHERE size(ids) > 0 "
            "  MERGE (m:SchemaInfo {id: 'schema'}) "
            "  SET m.retired_concepts = coalesce(m.retired_concepts, []) "
            "                           + [x IN ids WHERE NOT x IN coalesce(m.retired_concepts, [])] } "
            "UNWIND gone AS k DELETE k", names=pack.names, tx_metadata=APPLY_METADATA)
    db.write("MERGE (m:SchemaInfo {id: 'schema'}) SET m.pack = $pack, m.pack_file = $file, m.embedding_dim = $dim",
             pack=pack.name, file=pack.path or None, dim=dim)
    report = install_triggers(db, wait_s=trigger_wait_s) if triggers else None
    return {"statements": len(schema_statements()), "types": pack.names, "removed_types": [r["name"] for r in stale],
            "triggers": report}


def check(db: Database, pack: TypePack, *, dim: int) -> list[str]:
    """Drift between the schema files and the database, as human-readable lines (empty = in sync)."""
    drift = []
    cons_want, idx_want = _declared_names()
    cons_have = {r["name"] for r in db.query("SHOW CONSTRAINTS YIELD name RETURN name")}
    idx_have = {r["name"] for r in db.query(
        "SHOW INDEXES YIELD name, type, owningConstraint WHERE owningConstraint IS NULL AND type <> 'LOOKUP' RETURN name")}
    for n in sorted(cons_want - cons_have):
        drift.append(f"constraint {n} is declared in schema/ but missing in the database")
    for n in sorted(idx_want - idx_have):
        drift.append(f"index {n} is declared in schema/ but missing in the database")
    for n in sorted(cons_have - cons_want):
        drift.append(f"constraint {n} exists in the database but not in schema/")
    managed = {"item_gnn_embedding"}  # created and resized by model write-back (kgrec_neo4j/model/writeback.py)
    for n in sorted(idx_have - idx_want - managed):
        drift.append(f"index {n} exists in the database but not in schema/")
    have = vector_index_dimension(db)
    if have is not None and have != dim:
        drift.append(f"vector index concept_embedding has dimension {have}, configuration says {dim}")
    rows = db.query("MATCH (k:KnowledgeType) RETURN k.name AS name, k.definition AS definition")
    db_types = {r["name"]: r["definition"] for r in rows if r["name"] is not None}
    if len(db_types) < len(rows):
        drift.append(f"{len(rows) - len(db_types)} (:KnowledgeType) node(s) without a name; remove them with "
                     f"`MATCH (k:KnowledgeType) WHERE k.name IS NULL DELETE k`")
    for t in pack.types:
        if t.name not in db_types:
            drift.append(f"knowledge type {t.name!r} of pack {pack.name!r} is missing in the database")
        elif db_types[t.name] != t.definition:
            drift.append(f"knowledge type {t.name!r} has a different definition in the database")
    packs = db_packs(db)
    if packs and pack.name not in packs:  # the same types under another pack's name: every writing command refuses
        drift.append(f"the database's knowledge types are those of pack {', '.join(map(repr, packs))}, not of pack "
                     f"{pack.name!r} that this command runs with (commands that write refuse to run until they agree)")
    outside = sorted(set(db_types) - set(pack.names))
    used = used_types(db, outside) if outside else {}
    for n in outside:
        drift.append(f"knowledge type {n!r} is in the database but not in pack {pack.name!r}"
                     + (f"; the graph still uses it ({used[n][0]} concepts, {used[n][1]} mentions)" if n in used else ""))
    # values and concepts of a type that is no (:KnowledgeType) at all (written before the type triggers, or with
    # them off, or their type node deleted): `schema apply` cannot make the graph agree with the pack
    for r in db.query("CALL { MATCH (n:Mention) RETURN n UNION ALL MATCH (n:Concept) RETURN n } "
                      "WITH n WHERE NOT n.type IN $names RETURN n.type AS type, count(n) AS n ORDER BY type",
                      names=sorted(set(db_types) | set(pack.names))):  # (a pack type missing here: apply adds it)
        drift.append(f"{r['n']} mentions and concepts have type {r['type']!r}, which is no knowledge type of the "
                     f"database; the graph still uses it")
    drift += trigger_drift(db)
    return drift


def used_types(db: Database, names: list[str]) -> dict[str, tuple[int, int]]:
    """``{type: (concepts, mentions)}`` for the types of ``names`` that the graph still uses: a concept of the type,
    or a mention (an extracted value, before or without its concept)."""
    rows = db.query("UNWIND $names AS name RETURN name, COUNT { MATCH (c:Concept) WHERE c.type = name } AS c, "
                    "COUNT { MATCH (m:Mention) WHERE m.type = name } AS m", names=names)  # as the type trigger reads
    return {r["name"]: (r["c"], r["m"]) for r in rows if r["c"] or r["m"]}


# ------------------------------------------------------------------------------------------ triggers


def trigger_statements() -> dict[str, str]:
    """Trigger name (``kgrec_<file stem>``) -> statement, for every ``schema/triggers/*.cypher``."""
    folder = resources.schema_dir() / "triggers"
    return {f"{TRIGGER_PREFIX}{f.stem}": f.read_text(encoding="utf-8").strip() for f in sorted(folder.glob("*.cypher"))}


def _system(db: Database, cypher: str, **params: Any) -> list[dict[str, Any]]:
    """Run ``cypher`` on the system database (where APOC keeps the triggers of every database)."""
    with db.driver.session(database="system") as s:
        return s.execute_write(lambda tx: [r.data() for r in tx.run(cypher, params)])


def _trigger_error(exc: Exception) -> str | None:
    """Why triggers cannot be installed, if ``exc`` says so (else ``None``: a real failure)."""
    msg = str(getattr(exc, "message", None) or exc)
    code = str(getattr(exc, "code", "") or "")
    if "not been enabled" in msg or "apoc.trigger.enabled" in msg:
        return "APOC triggers are disabled on this server: set apoc.trigger.enabled=true in conf/apoc.conf " \
               "(the local server and docker-compose.yml do) and restart it"
    if "ProcedureNotFound" in code or "no procedure" in msg.lower():
        return "APOC core is not installed on this server (it has no apoc.trigger procedures)"
    if "admin" in msg.lower() or "Forbidden" in code or "Security" in code:
        return f"installing triggers needs an admin user ({msg.splitlines()[0][:160]})"
    return None


def installed_triggers(db: Database) -> dict[str, dict[str, Any]]:
    """The project's triggers stored for ``db``'s database: name -> {query, paused}. Raises the driver's error."""
    rows = _system(db, "CALL apoc.trigger.show($database) YIELD name, query, paused "
                       "RETURN name, query, paused", database=db.database)
    return {r["name"]: r for r in rows if str(r["name"]).startswith(TRIGGER_PREFIX)}


def active_triggers(db: Database) -> dict[str, dict[str, Any]]:
    """The project's triggers the database runs now (APOC picks installed ones up every ``apoc.trigger.refresh``)."""
    rows = db.query("CALL apoc.trigger.list() YIELD name, query, paused RETURN name, query, paused")
    return {r["name"]: r for r in rows if str(r["name"]).startswith(TRIGGER_PREFIX)}


def install_triggers(db: Database, *, wait_s: float = 70.0) -> dict[str, Any]:
    """Install (or update) the type triggers for ``db``'s database and wait until the database runs them.

    Idempotent: a trigger whose stored query equals its file is left alone. Returns ``{"installed": [...],
    "unchanged": [...], "active": bool, "unavailable": reason or None}``; a server where APOC triggers are off
    (``unavailable``) keeps working, with the types checked by the project's own writes only.
    """
    from neo4j.exceptions import ClientError

    want = trigger_statements()
    out: dict[str, Any] = {"installed": [], "unchanged": [], "active": False, "unavailable": None}
    for name, stmt in want.items():  # a trigger that does not compile would fail every write of the database
        try:
            db.query("EXPLAIN " + stmt)
        except ClientError as e:
            if _trigger_error(e) is not None:  # no APOC: reported below
                break
            raise SchemaError(f"schema/triggers/{name.removeprefix(TRIGGER_PREFIX)}.cypher does not compile, so it "
                              f"is not installed: {e.message}") from e
    try:
        have = installed_triggers(db)
        for name, stmt in want.items():
            cur = have.get(name)
            if cur and cur["query"] == stmt and not cur["paused"]:
                out["unchanged"].append(name)
                continue
            _system(db, "CALL apoc.trigger.install($database, $name, $statement, {phase: 'before'}, {}) YIELD name "
                        "RETURN name", database=db.database, name=name, statement=stmt)
            out["installed"].append(name)
        for name in sorted(set(have) - set(want)):  # a trigger file that was removed
            _system(db, "CALL apoc.trigger.drop($database, $name) YIELD name RETURN name", database=db.database, name=name)
    except ClientError as e:
        reason = _trigger_error(e)
        if reason is None:
            raise SchemaError(f"installing the type triggers (schema/triggers/) failed: {e}") from e
        log.warning("type triggers not installed: %s", reason)
        out["unavailable"] = reason
        return out
    out["active"] = wait_for_triggers(db, want, timeout_s=wait_s)
    return out


def wait_for_triggers(db: Database, want: dict[str, str], *, timeout_s: float) -> bool:
    """Poll until the database runs exactly the statements ``want`` (True) or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        active = active_triggers(db)
        if all(n in active and active[n]["query"] == q and not active[n]["paused"] for n, q in want.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


def trigger_drift(db: Database) -> list[str]:
    """Differences between ``schema/triggers/`` and what the database runs (empty = in sync)."""
    from neo4j.exceptions import ClientError

    want = trigger_statements()
    try:
        have = installed_triggers(db)
        active = active_triggers(db)
    except ClientError as e:
        reason = _trigger_error(e)
        if reason is None:
            raise
        return [f"type triggers are not installed: {reason}; the database accepts bad types from other clients"]
    drift = []
    for name, stmt in want.items():
        if name not in have:
            drift.append(f"trigger {name} (schema/triggers/) is not installed")
        elif have[name]["query"] != stmt:
            drift.append(f"trigger {name} differs from schema/triggers/")
        elif have[name]["paused"]:
            drift.append(f"trigger {name} is paused")
        elif name not in active:
            drift.append(f"trigger {name} is installed but the database does not run it yet (apoc.trigger.refresh)")
    for name in sorted(set(have) - set(want)):
        drift.append(f"trigger {name} is installed but not in schema/triggers/")
    return drift


def db_types(db: Database) -> list[str]:
    return [r["name"] for r in db.query("MATCH (k:KnowledgeType) RETURN k.name AS name ORDER BY name")]


def db_packs(db: Database) -> list[str]:
    """The names of the type packs whose types the database holds (``kgrec schema apply``): one, or none before it."""
    return [r["pack"] for r in db.query("MATCH (k:KnowledgeType) WHERE k.pack IS NOT NULL "
                                        "RETURN DISTINCT k.pack AS pack ORDER BY pack")]


def check_pack(db: Database, pack: TypePack) -> None:
    """Raise :class:`~kgrec_neo4j.core.errors.ConfigError` when the database was set up with another type pack than
    ``pack`` (the one this command runs with), before anything is written: its knowledge types would be refused."""
    packs = db_packs(db)
    if packs and pack.name not in packs:
        arg = pack_arg(db, packs[0])
        # mentions or concepts of the types the switch would remove: `schema apply` would refuse it
        used = bool(used_types(db, [t for t in db_types(db) if t not in pack.names]))
        switch = ("A database holds one pack: its datasets all share it (another domain's data needs its own "
                  "database, or a pack with both domains' types)" if used else
                  f"Or switch the database to {pack.name!r} with `kgrec --pack {pack.arg} schema apply`")
        raise ConfigError(f"this database holds the knowledge types of type pack {', '.join(map(repr, packs))}, but "
                          f"this command runs with pack {pack.name!r}; nothing was done. Run it with the database's "
                          f"pack (`kgrec --pack {arg} ...` or KGREC_TYPE_PACK={arg}). {switch}.")


def refuse_unknown_types(tx: neo4j.ManagedTransaction, types: Iterable[str]) -> None:
    """Inside a write transaction: raise :class:`UnknownTypeError` (rolling back) if any type is unknown."""
    rec = tx.run(
        "UNWIND $types AS t OPTIONAL MATCH (k:KnowledgeType {name: t}) WITH t, k WHERE k IS NULL "
        "RETURN collect(DISTINCT t) AS bad",
        types=sorted(set(types)),
    ).single()
    if rec and rec["bad"]:
        rows = list(tx.run("MATCH (k:KnowledgeType) RETURN k.name AS name, k.pack AS pack"))
        packs = sorted({r["pack"] for r in rows if r["pack"] is not None})
        arg: str | None = None  # what --pack takes for the database's pack (see pack_arg), read in this transaction
        if len(packs) == 1 and packs[0] not in available_packs():
            info = tx.run(_PACK_FILE, name=packs[0]).single()
            arg = _file_arg(packs[0], info["f"] if info else None)
        raise UnknownTypeError(rec["bad"], [r["name"] for r in rows], packs=packs, pack_arg=arg)
