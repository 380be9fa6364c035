"""Item text embeddings for the item graph's text prior: what text, which order, empty texts."""

from __future__ import annotations

import gzip
import json

import numpy as np

from kgrec_neo4j.model import itemtext


class _Lengths:
    """Vectors that tell texts apart: (length, number of words, 1)."""

    dim = 3

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += texts
        return np.array([[len(t), len(t.split()), 1.0] for t in texts], np.float32)


def test_the_text_is_the_items_fields_without_reviews():
    row = {"item_id": "i1", "title": "Zelda", "brand": "Nintendo", "categories": ["Games"], "features": ["co-op"],
           "description": ["An adventure."], "review_text": "I loved it", "reviews": ["I loved it"]}
    text = itemtext.text_of(row)
    for part in ("Zelda", "Nintendo", "Games", "co-op", "An adventure."):
        assert part in text
    assert "loved" not in text


def test_rows_come_back_in_the_ids_order_with_unit_length_and_zeros_without_text(tmp_path):
    rows = [{"item_id": "b", "title": "Bravo two"}, {"item_id": "a", "title": "Alpha"},
            {"item_id": "c", "title": None, "description": []}]
    path = tmp_path / "items.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    enc = _Lengths()
    m = itemtext.from_jsonl(path, ["a", "missing", "b", "c"], enc)
    assert m.shape == (4, 3) and m.dtype == np.float32
    assert np.allclose(np.linalg.norm(m[[0, 2]], axis=1), 1.0)
    assert not m[1].any() and not m[3].any()  # no row, and a row without text: zeros, nothing embedded
    assert enc.seen == ["Alpha", "Bravo two"]
    a = np.array([5, 1, 1], np.float32)
    assert np.allclose(m[0], a / np.linalg.norm(a))
