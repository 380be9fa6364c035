"""Near-duplicate concepts: list them (``suggest_merges``), merge one pair on purpose (``merge_concepts``),
and resolve ids that were merged away (``resolve_concept``).

Growth never merges anything by itself (churn = 0); a merge is an explicit act. The absorbed id stays
valid as an alias of the kept concept (``c.aliases``), so stored references and explanations resolve.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..core.db import Database
from ..core.embed import Embedder
from ..core.errors import KgrecError
from ..core.resources import cypher
from ..core.schema import TypePack, check_pack
from . import store, variants

log = logging.getLogger(__name__)


class MergeSuggestion(BaseModel):
    """A pair of concepts of one type whose embeddings are at least ``min_similarity`` alike.

    ``min_cross`` is the smallest similarity between a member of one and a member of the other;
    ``keeps_floor`` says whether the merged concept would still satisfy the type's floor; ``guard_apart``: the
    variant guard keeps their keys apart (another number, size, unit or variant word: ``16 MB`` / ``8 MB``,
    :mod:`.variants`), so building the vocabulary would never have put them together.
    """

    type: str
    keep: str
    keep_name: str
    absorb: str
    absorb_name: str
    similarity: float
    min_cross: float
    keeps_floor: bool
    keep_members: int
    absorb_members: int
    guard_apart: bool = False


class MergeReport(BaseModel):
    keep: str
    absorbed: str
    aliases: list[str]
    moved_members: int
    redirected_relationships: int
    items_updated: int
    twins_removed: int = 0  # relationships of the absorbed concept that the kept one had already (deleted, not moved)
    already: bool = False  # the two named one concept already: a merge done before (nothing changed)


class NoSuchConcept(KgrecError):
    """A concept id (or alias) that names no concept."""


def resolve_concept(db: Database, concept_id: str) -> str | None:
    """The id of the concept that ``concept_id`` names today: itself, or the concept that absorbed it."""
    rows = db.query(cypher("concepts/resolve"), id=concept_id)
    return rows[0]["id"] if rows else None


def _members(db: Database, ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    for r in db.query(cypher("concepts/concept_members"), ids=ids):
        out[r["id"]] = r["keys"]
    return out


def suggest_merges(db: Database, embedder: Embedder, pack: TypePack, *, types: list[str] | None = None,
                   min_similarity: float | None = None, limit: int = 50, with_variants: bool = False
                   ) -> list[MergeSuggestion]:
    """Pairs of concepts of the same type with embedding similarity >= ``min_similarity`` (default: the
    type's floor), most similar first; the concept with more members is proposed to be kept. Pairs whose keys the
    variant guard keeps apart (``guard_apart``: ``16 MB`` / ``8 MB``, ``Xbox One`` / ``Xbox 360``) are left out
    unless ``with_variants``."""
    store.check_model(db, embedder)
    check_pack(db, pack)  # with another pack than the database's only the types both have would be listed
    if types is not None:
        pack.check(types)
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:
        raise ValueError(f"min_similarity must be in [-1, 1] (got {min_similarity})")
    vocab = store.vocabularies(db)
    out: list[MergeSuggestion] = []
    for type_ in types or pack.names:
        v = vocab.get(type_)
        if v is None or not v.concepts:
            continue
        thr = min_similarity if min_similarity is not None else v.floor
        if thr is None:
            raise KgrecError(f"the vocabulary of type {type_!r} has concepts but no stored floor; pass "
                             f"--min-similarity, or rebuild the type's vocabulary with `kgrec concepts build`")
        rows = db.query(cypher("concepts/concept_vectors"), type=type_)
        if len(rows) < 2:
            continue
        E = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        pairs = []
        for i0 in range(0, len(rows), 2048):
            S = E[i0:i0 + 2048] @ E.T
            a, b = np.nonzero(S >= thr)
            a = a + i0
            m = b > a
            pairs += [(int(x), int(y), float(S[x - i0, y])) for x, y in zip(a[m], b[m])]
        pairs.sort(key=lambda p: -p[2])
        sig = variants.guard_codes(store.guard_texts([r["key"] for r in rows], pack.name), pack.name)
        apart = {(i, j) for i, j, _ in pairs if not variants.compatible(sig[i], sig[j])}
        if not with_variants:
            pairs = [p for p in pairs if p[:2] not in apart]
        pairs = pairs[:limit]
        if not pairs:
            continue
        need = sorted({rows[i]["id"] for p in pairs for i in p[:2]})
        mem = _members(db, need)
        for i, j, sim in pairs:
            ri, rj = rows[i], rows[j]
            if (rj["members"], rj["id"]) > (ri["members"], ri["id"]):
                ri, rj = rj, ri
            Xi = store.encode_keys(embedder, mem[ri["id"]] or [ri["key"]], pack.name)
            Xj = store.encode_keys(embedder, mem[rj["id"]] or [rj["key"]], pack.name)
            cross = float((Xi @ Xj.T).min())
            out.append(MergeSuggestion(type=type_, keep=ri["id"], keep_name=ri["name"], absorb=rj["id"],
                                       absorb_name=rj["name"], similarity=round(sim, 4),
                                       min_cross=round(cross, 4), keeps_floor=cross >= (v.floor or 0.0),
                                       keep_members=ri["members"], absorb_members=rj["members"],
                                       guard_apart=(i, j) in apart))
    out.sort(key=lambda s: -s.similarity)
    return out[:limit]


def merge_concepts(db: Database, embedder: Embedder, pack: TypePack, keep: str, absorb: str, *,
                   min_confidence: float = 0.0) -> MergeReport:
    """Merge concept ``absorb`` into ``keep`` (ids or aliases). Both must exist and share a type.

    The absorbed concept's mentions move to ``keep`` with their similarity to ``keep``'s embedding;
    its id (and its own aliases) become aliases of ``keep``; other relationships pointing at it are
    redirected; the items concerned get their ``HAS_KNOWLEDGE`` edges recomputed.
    """
    store.check_model(db, embedder)
    check_pack(db, pack)  # the variant guard and the floors are the pack's: another pack's would judge the merge
    k_id, a_id = resolve_concept(db, keep), resolve_concept(db, absorb)
    if k_id is None or a_id is None:
        missing = [x for x, r in ((keep, k_id), (absorb, a_id)) if r is None]
        raise NoSuchConcept(f"no concept has id or alias {', '.join(map(repr, missing))}; "
                            f"list candidates with `kgrec concepts suggest-merges`")
    if k_id == a_id:
        if keep == absorb:
            raise KgrecError(f"{keep!r} and {absorb!r} name the same concept {k_id!r}; nothing to merge")
        # one of them is an alias of the other: the merge was done (a rerun, or the two named the other way round)
        aliases = [a for r in db.query(cypher("concepts/concepts_by_id"), ids=[k_id]) for a in r["aliases"]]
        log.info("%s and %s name one concept %s already: nothing to merge", keep, absorb, k_id)
        return MergeReport(keep=k_id, absorbed=absorb if absorb != k_id else keep, aliases=aliases, moved_members=0,
                           redirected_relationships=0, items_updated=0, already=True)
    info = {r["id"]: r for r in db.query(cypher("concepts/concepts_by_id"), ids=[k_id, a_id])}
    if info[k_id]["type"] != info[a_id]["type"]:
        raise KgrecError(f"concepts of different types cannot be merged: {k_id} is {info[k_id]['type']!r}, "
                         f"{a_id} is {info[a_id]['type']!r}")
    # a concept whose mentions are of another type than its own (its type changed by a client): the merge would move
    # only the mentions of its type and delete the others' CANONICAL edges with it, leaving them neither canonical nor
    # pending and their items without that knowledge
    other = db.query(cypher("concepts/members_of_other_types"), ids=[k_id, a_id])
    if other:
        r = other[0]
        raise KgrecError(f"concept {r['id']!r} is of type {r['type']!r} but {r['n']} of its mentions are of type "
                         f"{r['other']!r} (e.g. {r['example']!r}): its type was changed outside kgrec; nothing was "
                         f"merged. Set it back (MATCH (c:Concept {{id: '{r['id']}'}}) SET c.type = '{r['other']}') "
                         f"and merge again")
    type_ = info[k_id]["type"]
    keys = _members(db, [a_id])[a_id]
    e_keep = np.asarray(info[k_id]["embedding"], dtype=np.float32)
    sims = store.encode_keys(embedder, keys, pack.name) @ e_keep if keys else np.zeros(0)
    members = [{"key": k, "similarity": float(min(1.0, s))} for k, s in zip(keys, sims)]
    rows = [{"type": type_, "key": k} for k in keys]

    def merge_and_recompute(tx: Any) -> tuple[Any, int]:
        """The merge and the knowledge of the items concerned in one transaction: a crash between them would leave
        those items without their HAS_KNOWLEDGE edges and a rerun refused (the absorbed id already resolves)."""
        rec = tx.run(cypher("concepts/merge"), keep=k_id, absorb=a_id, members=members).single()
        if rec is None:
            return None, 0
        ids = sorted({r["id"] for r in tx.run(cypher("concepts/items_of_mentions"), rows=rows)})
        for i in range(0, len(ids), 2000):
            tx.run(cypher("concepts/item_knowledge"), ids=ids[i:i + 2000], min_confidence=min_confidence).consume()
        return rec, len(ids)

    rec, n_items = db.write_tx(merge_and_recompute)
    if rec is None:
        raise NoSuchConcept(f"concept {k_id!r} or {a_id!r} disappeared during the merge; nothing was changed")
    log.info("merged %s into %s (%d members moved)", a_id, k_id, len(keys))
    return MergeReport(keep=k_id, absorbed=a_id, aliases=list(rec["aliases"]), moved_members=len(keys),
                       redirected_relationships=int(rec["moved_in"]) + int(rec["moved_out"]),
                       items_updated=n_items, twins_removed=int(rec["twins"]))
