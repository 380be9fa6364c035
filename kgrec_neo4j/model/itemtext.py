"""Item text embeddings for the item graph's text prior (:mod:`kgrec_neo4j.model.itemgraph`).

An item's text is what the extractors read of it without reviews: title, brand, categories, features and description
(:func:`kgrec_neo4j.extract.llm.full_text`). Reviews are left out: in evaluation mode a held-out interaction's review
would reach training through them. Each text is embedded by the project's embedder (cached per text), rows of unit
length; an item without text gets a row of zeros: the prior has nothing to pull it towards, and its links in and out
are only shrunk by the prior's weight (which holds such items back a little).
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..core.embed import TextEncoder
from ..core.texthash import item_text
from ..extract.base import ItemText
from ..extract.llm import full_text

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
