"""Projection: every mention without a concept goes to its nearest concept of the same type, or waits.

The nearest concept is found by an exact search in memory (``search="exact"``: the type's concept
embeddings are read from Neo4j once per run and every mention vector is compared with all of them), or
through Neo4j's vector index ``concept_embedding`` (``search="index"``: one query searches a whole batch
of vectors with ``UNWIND``; the index holds all types, so ``k`` candidates are fetched and filtered to
the mention's type; when none of them qualifies while the ``k``-th candidate still scores above the
threshold, the row is asked again with a larger ``k``, up to ``k_max``). ``search="auto"`` (default)
searches exactly while the types concerned have at most :data:`EXACT_LIMIT` concepts together (their
vectors fit in memory: 200,000 x 384 floats = 307 MB) and through the index above that. Both give the
best qualifying concept; the exact one finds it always, the quantised index for 99.2 % of the mentions at
``k = 8`` (docs/concepts.md). A candidate qualifies when

* its cosine similarity to the mention is >= the type's acceptance threshold (stored with the type's
  vocabulary; default halfway between the type's floor and 1), and
* the variant guard allows it (equal numbers and variant words; see :mod:`.variants`).

A qualifying mention gets ``(:Mention)-[:CANONICAL {similarity}]->(:Concept)``; the others get
``m.pending = true`` and wait for ``kgrec concepts grow``. Mentions that have a concept are never
touched. Items whose mentions got a concept get their ``HAS_KNOWLEDGE`` edges recomputed
(``cypher/concepts/item_knowledge.cypher`` documents the confidence).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.embed import Embedder
from ..core.errors import KgrecError
from ..core.resources import cypher
from ..core.schema import TypePack, check_pack
from . import store
from .aliases import embedding_text
from .variants import CONTAIN_FLOOR, Maker, Signature, compatible, lexical_key, lexical_relation, signature

log = logging.getLogger(__name__)

K_START = 8
K_MAX = 1024
EXACT_LIMIT = 200_000
SEARCHES = ("auto", "exact", "index")
KEEP = 8
SCORE_MARGIN = 0.01


class ProjectReport(BaseModel):
    """Counts and timings of one projection run (embedding and Neo4j time kept apart)."""

    mentions: int = 0
    search: str = Field("", description="exact (in memory) or index (Neo4j's vector index)")
    assigned: int = 0
    pending: int = 0
    skipped_types: dict[str, int] = Field(default_factory=dict, description="type -> mentions without vocabulary")
    per_type: dict[str, dict[str, int]] = Field(default_factory=dict)
    requeried: int = 0
    items_updated: int = 0
    read_s: float = 0.0
    embed_s: float = 0.0
    search_s: float = Field(0.0, description="summed over batches (overlapping when workers > 1)")
    write_s: float = 0.0
    project_s: float = Field(0.0, description="wall time of search + write (searches on worker threads)")
    knowledge_s: float = 0.0

    @property
    def mentions_per_s(self) -> float:
        """Projection throughput (search + write wall time), embedding and HAS_KNOWLEDGE excluded."""
        return self.mentions / self.project_s if self.project_s > 0 else 0.0


def vector_texts(X: np.ndarray, decimals: int = 4) -> list[str]:
    """Rows of ``X`` as comma-separated text, the form ``nearest.cypher`` reads.

    Only the index search sees these (4 decimals move a cosine by < 1e-3); candidates are re-scored
    with the exact vectors.
    """
    return [json.dumps(row, separators=(",", ":"))[1:-1] for row in np.round(X.astype(np.float64), decimals).tolist()]


class ConceptVectors:
    """Exact concept embeddings and variant-guard signatures, fetched on first use (thread-safe).

    ``makers``: the catalogue's makers' names for the lexical keys (:func:`.store.maker_names`).
    """

    def __init__(self, db: Database, pack: str, makers: frozenset[Maker] | None = None):
        self.db = db
        self.pack = pack
        self.makers = makers
        self._vecs: dict[str, np.ndarray] = {}
        self._sigs: dict[str, Signature] = {}
        self.lexical: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def get(self, ids: set[str]) -> tuple[dict[str, np.ndarray], dict[str, Signature]]:
        missing = [i for i in ids if i not in self._vecs]
        if missing:
            rows = self.db.query(cypher("concepts/concept_embeddings"), ids=missing)
            with self._lock:
                for r in rows:
                    self._vecs[r["id"]] = np.asarray(r["embedding"], dtype=np.float32)
                    text = embedding_text(r["key"] or "", self.pack)
                    self._sigs[r["id"]] = signature(text, self.pack)
                    self.lexical[r["id"]] = lexical_key(text, self.pack, self.makers)
        return self._vecs, self._sigs


def nearest(db: Database, types: Sequence[str], X: np.ndarray, thresholds: Sequence[float], guard: Sequence[str],
            pack: str, *, k: int = K_START, k_max: int = K_MAX, vectors: ConceptVectors | None = None,
            margin: float = SCORE_MARGIN, makers: frozenset[Maker] | None = None,
            ) -> tuple[list[tuple[str | None, float]], int]:
    """Best qualifying concept per row through the vector index.

    Args:
        types: ``(n,)`` type of each row.
        X: ``(n, dim)`` L2-normalised vectors.
        thresholds: ``(n,)`` minimum cosine similarity.
        guard: ``(n,)`` texts for the variant guard (the embedded texts).
        vectors: cache of exact concept embeddings (shared across calls of one run).
        margin: candidates whose (quantised) index score is within ``margin`` of the threshold are
            re-scored exactly before they are rejected.
        makers: the catalogue's makers' names (:func:`.store.maker_names`; ``vectors``' own when given).
    Returns:
        ``[(concept_id | None, cosine)]`` per row, and how many rows needed a larger ``k``.
    """
    n = len(types)
    if not (len(X) == len(thresholds) == len(guard) == n):
        raise ValueError(f"types, X, thresholds and guard must have the same length "
                         f"(got {n}, {len(X)}, {len(thresholds)}, {len(guard)})")
    vectors = vectors or ConceptVectors(db, pack, makers)
    out: list[tuple[str | None, float]] = [(None, 0.0)] * n
    todo = list(range(n))
    sigs = [signature(g, pack) for g in guard]
    keys = [lexical_key(g, pack, vectors.makers) for g in guard]
    vtext = vector_texts(X)
    requeried = 0
    kk = k
    text = cypher("concepts/nearest")
    while todo:
        recs = db.query(text, vecs=[vtext[i] for i in todo], types=[types[i] for i in todo], k=kk, keep=KEEP)
        cand_ids = {c[0] for r in recs for c in r["cands"]}
        emb, csigs = vectors.get(cand_ids) if cand_ids else ({}, {})
        ckeys = vectors.lexical
        again = []
        for r in recs:
            i = todo[r["i"]]
            thr_score = (1.0 + thresholds[i]) / 2.0 - margin
            best: tuple[str, float] | None = None
            for cid, score in r["cands"]:
                if score < thr_score:
                    continue
                csig = csigs.get(cid)
                if csig is not None and not compatible(sigs[i], csig):
                    continue
                ckey = ckeys.get(cid)
                if ckey is not None and lexical_relation(keys[i], ckey) not in ("equal", "other") \
                        and score < (1.0 + CONTAIN_FLOOR) / 2.0:
                    continue
                cos = float(X[i] @ emb[cid]) if cid in emb else 2.0 * score - 1.0
                if cos >= thresholds[i] and (best is None or cos > best[1]):
                    best = (cid, cos)
            if best is not None:
                out[i] = (best[0], float(min(1.0, best[1])))
            elif r["n"] >= kk and r["lowest"] >= thr_score and kk < k_max:
                again.append(i)  # more same-type concepts above the threshold may lie beyond k
        requeried += len(again)
        todo = again
        kk = min(kk * 4, k_max)
    return out, requeried


class TypeVectors:
    """The concept embeddings of some types in memory, one ``(k_t, dim)`` matrix per type (exact search)."""

    def __init__(self, db: Database, types: Sequence[str], pack: str, makers: frozenset[Maker] | None = None):
        self.makers = makers
        self.ids: dict[str, list[str]] = {}
        self.mats: dict[str, np.ndarray] = {}
        self.sigs: dict[str, list[Signature]] = {}
        self.lex: dict[str, list[frozenset[str]]] = {}
        self.by_lex: dict[str, dict[frozenset[str], list[int]]] = {}
        rows = db.query(cypher("concepts/type_vectors"), types=sorted(set(types)))
        by_type: dict[str, list[dict]] = {}
        for r in rows:
            by_type.setdefault(r["type"], []).append(r)
        for t, rs in by_type.items():
            self.ids[t] = [r["id"] for r in rs]
            M = np.asarray([r["embedding"] for r in rs], dtype=np.float32)
            self.mats[t] = M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)
            guards = [_concept_guard(r["key"] or "", pack, makers) for r in rs]
            self.sigs[t] = [g[0] for g in guards]
            self.lex[t] = [g[1] for g in guards]
            index: dict[frozenset[str], list[int]] = {}
            for c, k in enumerate(self.lex[t]):
                index.setdefault(k, []).append(c)
            self.by_lex[t] = index


@functools.lru_cache(maxsize=1 << 16)
def _concept_guard(key: str, pack: str, makers: frozenset[Maker] | None) -> tuple[Signature, frozenset[str]]:
    """The variant guard's signature and lexical key of a concept's medoid key (cached: an update reads its types'
    concepts once to project its new mentions and again after growing)."""
    text = embedding_text(key, pack)
    return signature(text, pack), lexical_key(text, pack, makers)


def nearest_exact(vectors: TypeVectors, types: Sequence[str], X: np.ndarray, thresholds: Sequence[float],
                  guard: Sequence[str], pack: str) -> list[tuple[str | None, float]]:
    """Best qualifying concept per row by comparing each row with every concept of its type (same contract
    as :func:`nearest`).

    A concept qualifies by :func:`.variants.same_value` against its medoid: a concept with the same content
    words wins (best cosine first; a concept whose words differ only by spelling variants is found among
    those at or above the threshold); else the most similar one at or above the threshold that the variant
    guard allows and that does not differ by added words (unless the cosine reaches ``CONTAIN_FLOOR``).
    """
    out: list[tuple[str | None, float]] = [(None, 0.0)] * len(types)
    by_type: dict[str, list[int]] = {}
    for i, t in enumerate(types):
        by_type.setdefault(t, []).append(i)
    for t, rows in by_type.items():
        M = vectors.mats.get(t)
        if M is None or not len(M):
            continue
        S = X[rows] @ M.T  # (rows, k_t)
        sigs, lex, ids = vectors.sigs[t], vectors.lex[t], vectors.ids[t]
        for r, i in enumerate(rows):
            sig = signature(guard[i], pack)
            key = lexical_key(guard[i], pack, vectors.makers)
            same = [c for c in vectors.by_lex[t].get(key, ()) if compatible(sig, sigs[c])] if key else []
            if same:
                c = max(same, key=lambda c: S[r, c])
                out[i] = (ids[c], float(min(1.0, max(S[r, c], 0.0))))
                continue
            cand = np.nonzero(S[r] >= thresholds[i])[0]
            for c in cand[np.argsort(-S[r, cand], kind="stable")]:
                if not compatible(sig, sigs[c]):
                    continue
                if lexical_relation(key, lex[c]) in ("narrower", "broader") and S[r, c] < CONTAIN_FLOOR:
                    continue
                out[i] = (ids[c], float(min(1.0, S[r, c])))
                break
    return out


def choose_search(search: str, vocab: dict, types: Sequence[str]) -> str:
    """``exact`` or ``index`` for ``search`` (``auto``: exact while the types have <= EXACT_LIMIT concepts)."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {', '.join(SEARCHES)} (got {search!r})")
    if search != "auto":
        return search
    n = sum(vocab[t].concepts for t in set(types) if t in vocab)
    return "exact" if n <= EXACT_LIMIT else "index"


def project_texts(db: Database, embedder: Embedder, rows: list[dict[str, str]], thresholds: dict[str, float] | None = None,
                  *, pack: str | None = None, search: str = "auto") -> list[tuple[str | None, float]]:
    """Project free texts (e.g. user interests) onto concepts with the mentions' acceptance rule.

    Args:
        rows: ``[{type, text}]``; the text is normalised like a mention key first.
        thresholds: per-type cosine threshold; default the type's stored acceptance threshold.
        pack: type pack name for abbreviations (default: the database's pack).
    Returns:
        ``[(concept_id | None, similarity)]`` in the order of ``rows`` (None: below the threshold).
    """
    from ..extract.base import mention_key

    if not rows:
        return []
    store.check_model(db, embedder)
    vocab = store.vocabularies(db)
    bad = sorted({r["type"] for r in rows} - set(vocab))
    if bad:
        from ..core.errors import UnknownTypeError

        raise UnknownTypeError(bad, list(vocab))
    pack_name = pack or db.value("MATCH (s:SchemaInfo {id: 'schema'}) RETURN s.pack") or ""
    thr = []
    for r in rows:
        t = (thresholds or {}).get(r["type"], vocab[r["type"]].acceptance)
        if t is None:
            raise KgrecError(f"type {r['type']!r} has no concept vocabulary yet (no acceptance threshold); "
                             f"run `kgrec concepts build` first or pass a threshold")
        thr.append(float(t))
    keys = [mention_key(r["text"]) for r in rows]
    X = store.encode_keys(embedder, keys, pack_name)
    types = [r["type"] for r in rows]
    guard = store.guard_texts(keys, pack_name)
    makers = store.maker_names(db, pack_name)
    if choose_search(search, vocab, types) == "exact":
        return nearest_exact(TypeVectors(db, types, pack_name, makers), types, X, thr, guard, pack_name)
    res, _ = nearest(db, types, X, thr, guard, pack_name, makers=makers)
    return res


def project_mentions(db: Database, embedder: Embedder, pack: TypePack, *, types: list[str] | None = None,
                     batch_size: int = 1000, min_confidence: float = 0.0, k: int = K_START,
                     workers: int = 2, search: str = "auto", retry_pending: bool = True,
                     stale_knowledge: bool = True, progress: Callable[[int], None] | None = None) -> ProjectReport:
    """Assign every mention without a concept (of ``types``, default all with a vocabulary).

    ``search``: ``exact`` (in memory), ``index`` (Neo4j's vector index) or ``auto`` (see the module docstring).
    ``retry_pending``: also project the pending mentions again (``kgrec concepts project``); without it only the
    mentions never projected are (``kgrec update``: a pending mention can only find a concept that did not exist when
    it was projected, and :func:`.grow.grow_vocabulary` projects the pending ones again when it adds concepts).
    ``stale_knowledge``: also recompute ``HAS_KNOWLEDGE`` of the items whose edges differ from their mentions with a
    concept (extracted after those mentions were placed: a new item whose points are all known, an item extracted
    again; :func:`.store.stale_knowledge_items`); ``kgrec update`` recomputes the items it extracted itself.

    Idempotent: a second run only retries the pending mentions, which stay pending unless new
    concepts appeared. Returns counts and timings (read / embed / search / write / knowledge).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    rep = ProjectReport()
    check_pack(db, pack)  # with another pack than the database's only the types both have would be seen
    store.check_model(db, embedder)
    if types is not None:
        pack.check(types)
    vocab = store.vocabularies(db)
    # a type built with no shared cluster still has a vocabulary (its floor and acceptance): its mentions wait
    acceptance = {t: v.acceptance for t, v in vocab.items() if v.acceptance is not None}
    with_vocab = list(acceptance)
    wanted = [t for t in (types or pack.names) if t in vocab]
    t0 = time.perf_counter()
    rows = db.query(cypher("concepts/unassigned_mentions"), types=wanted, retry_pending=retry_pending)
    rep.read_s = time.perf_counter() - t0
    for r in rows:
        if r["type"] not in with_vocab:
            rep.skipped_types[r["type"]] = rep.skipped_types.get(r["type"], 0) + 1
    rows = sorted((r for r in rows if r["type"] in with_vocab), key=lambda r: (r["type"], r["key"]))
    rep.mentions = len(rows)

    def knowledge(assigned: list[dict[str, str]]) -> None:
        t0 = time.perf_counter()
        stale = store.stale_knowledge_items(db, min_confidence=min_confidence) if stale_knowledge else []
        rep.items_updated = store.derive_item_knowledge(db, assigned, min_confidence=min_confidence, items=stale)
        rep.knowledge_s = round(time.perf_counter() - t0, 3)

    if not rows:
        knowledge([])
        return rep
    t0 = time.perf_counter()
    X = store.encode_keys(embedder, [r["key"] for r in rows], pack.name)
    rep.embed_s = time.perf_counter() - t0
    guard = store.guard_texts([r["key"] for r in rows], pack.name)
    assign_q = cypher("concepts/assign")
    assigned: list[dict[str, str]] = []
    rep.search = choose_search(search, vocab, [r["type"] for r in rows])
    makers = store.maker_names(db, pack.name)
    vectors = ConceptVectors(db, pack.name, makers)
    exact = TypeVectors(db, [r["type"] for r in rows], pack.name, makers) if rep.search == "exact" else None
    starts = list(range(0, len(rows), batch_size))

    def run_search(b0: int):
        part = rows[b0:b0 + batch_size]
        t = time.perf_counter()
        thr = [acceptance[r["type"]] for r in part]
        if exact is not None:
            res = nearest_exact(exact, [r["type"] for r in part], X[b0:b0 + batch_size], thr,
                                guard[b0:b0 + batch_size], pack.name)
            again = 0
        else:
            res, again = nearest(db, [r["type"] for r in part], X[b0:b0 + batch_size], thr,
                                 guard[b0:b0 + batch_size], pack.name, k=k, vectors=vectors)
        return part, res, again, time.perf_counter() - t

    t_loop = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # searches (reads) run on `workers` threads; writes stay in this thread, in batch order
        for part, res, again, dt in pool.map(run_search, starts):
            t1 = time.perf_counter()
            wrows = [{"type": r["type"], "key": r["key"], "concept": cid, "similarity": sim}
                     for r, (cid, sim) in zip(part, res)]
            db.write(assign_q, types=[w["type"] for w in wrows], keys=[w["key"] for w in wrows],
                     concepts=[w["concept"] for w in wrows], sims=[w["similarity"] for w in wrows])
            rep.search_s += dt
            rep.write_s += time.perf_counter() - t1
            rep.requeried += again
            for w in wrows:
                st = rep.per_type.setdefault(w["type"], {"assigned": 0, "pending": 0})
                if w["concept"] is None:
                    st["pending"] += 1
                    rep.pending += 1
                else:
                    st["assigned"] += 1
                    rep.assigned += 1
                    assigned.append({"type": w["type"], "key": w["key"]})
            if progress:
                progress(len(part))
    rep.project_s = time.perf_counter() - t_loop
    knowledge(assigned)
    for f in ("read_s", "embed_s", "search_s", "write_s", "project_s", "knowledge_s"):
        setattr(rep, f, round(getattr(rep, f), 3))
    log.info("projected %d mentions: %d assigned, %d pending (%.0f mentions/s on Neo4j)", rep.mentions,
             rep.assigned, rep.pending, rep.mentions_per_s)
    return rep
