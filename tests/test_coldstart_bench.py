"""The cold-start item benchmark's split and metrics (bench/coldstart_items.py) on the vg-slice."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from _bench import load_bench

ROOT = Path(__file__).resolve().parent.parent
SLICE = ROOT / "tests" / "data" / "vg-slice"


cs = load_bench("coldstart_items")


def _slice():
    return cs.read_jsonl(SLICE / "items.jsonl"), cs.read_jsonl(SLICE / "interactions.jsonl")


def test_split_holds_out_a_seeded_share_of_items_with_all_their_interactions():
    items, inter = _slice()
    b_items, base, m_items, more, held = cs.split_items(items, inter, share=0.05, seed=3)
    used = {r["item_id"] for r in inter}
    assert len(held) == round(0.05 * len(used)) and held <= used
    assert not any(r["item_id"] in held for r in base)
    assert all(r["item_id"] in held for r in more)
    assert len(base) + len(more) == len(inter)
    assert {r["item_id"] for r in m_items} == held and not held & {r["item_id"] for r in b_items}
    assert {r["item_id"] for r in b_items} == {r["item_id"] for r in base}
    for part in (base, more):  # each user's order is kept
        seqs = defaultdict(list)
        for r in part:
            seqs[r["user_id"]].append(r["seq"])
        assert all(s == sorted(s) for s in seqs.values())
    assert cs.split_items(items, inter, share=0.05, seed=3)[4] == held
    assert cs.split_items(items, inter, share=0.05, seed=4)[4] != held
    with pytest.raises(ValueError, match="share"):
        cs.split_items(items, inter, share=1.5, seed=0)


def test_ranks_and_metrics():
    tie = np.arange(5)
    s = np.asarray([[5.0, 1, 2, 3, 4], [0, 9, 9, 1, 9], [1, 2, 3, 4, 5]])
    cand = np.ones((3, 5), bool)
    cand[2, 4] = False  # an excluded item never outranks the target
    r = cs.ranks(s, np.asarray([0, 2, 3]), cand, tie)
    assert r.tolist() == [1, 2, 1]  # row 1: a tie with item 1 (lower in the permutation) ranks first
    assert cs.ranks(s, np.asarray([0, 2, 3]), cand, np.asarray([4, 3, 0, 2, 1]))[1] == 1
    assert cs.recall_ndcg(np.asarray([1, 1])) == (1.0, 1.0)  # the target first: Recall@20 = NDCG@10 = 1
    rec, nd = cs.recall_ndcg(np.asarray([2, 11, 21]))
    assert rec == pytest.approx(2 / 3) and nd == pytest.approx((1 / np.log2(3)) / 3)
    with pytest.raises(ValueError, match="candidates"):
        cs.ranks(s, np.asarray([0, 2, 4]), cand, tie)


def test_borrowed_links_in_memory_are_the_update_rule():
    """The bench's in-memory borrowing (the knowledge-neighbour ablation, and the rule of kgrec update checked
    against the stored links in the run): trained items 0-3, new item 4 with neighbours 1 (share 0.75) and 2."""
    import scipy.sparse as sp

    w = np.zeros((5, 5))
    w[0, 1], w[3, 1], w[0, 2], w[1, 2] = 2.0, -1.0, 1.0, 0.5  # into 1: from 0 and 3; into 2: from 0 and 1
    w[1, 4] = 9.0  # a stale link into the new item: replaced
    links = sp.csr_matrix(w)
    ids, index = ["a", "b", "c", "d", "n"], {x: k for k, x in enumerate("abcdn")}
    near = {"n": [("b", 0.75), ("c", 0.25)]}
    own = cs.borrowed_links(links, near, index, ids, ["n"], top_k=10).toarray()
    # the neighbours' links in, share-weighted, and each neighbour's own link: its share of its strongest link in
    # (b: 2.0, c: 1.0)
    np.testing.assert_allclose(own[:, 4], [1.75, 0.125 + 0.75 * 2.0, 0.25 * 1.0, -0.75, 0])
    np.testing.assert_allclose(own[:4, :4], w[:4, :4])  # trained links untouched
    # its links out: the neighbours' links out (b -> c), and to each neighbour its share of that one's strongest link
    # out (b: 0.5; c has none); the rule before had none
    np.testing.assert_allclose(own[4], [0, 0.75 * 0.5, 0.75 * 0.5, 0, 0])
    assert cs.borrowed_links(links, near, index, ids, ["n"], top_k=10, rows=False)[4].nnz == 0
    top = cs.borrowed_links(links, near, index, ids, ["n"], top_k=2).toarray()
    assert np.flatnonzero(top[:, 4]).tolist() == [0, 1]  # the two largest in magnitude
    # a new item without neighbours keeps no link
    assert cs.borrowed_links(links, {}, index, ids, ["n"], top_k=10)[:, 4].nnz == 0
    # a factor on every link, and another one on the neighbours' own links alone
    np.testing.assert_allclose(cs.borrowed_links(links, near, index, ids, ["n"], top_k=10, calibrate=2.0)
                               .toarray()[:, 4], 2 * own[:, 4])
    got = cs.borrowed_links(links, near, index, ids, ["n"], top_k=10, calibrate=2.0, own=10.0).toarray()[:, 4]
    np.testing.assert_allclose(got, [2 * 1.75, 2 * 0.125 + 10 * 0.75 * 2.0, 10 * 0.25 * 1.0, -2 * 0.75, 0])


def test_borrowed_links_between_two_new_items_borrow_twice():
    """Two new items: each one's link into the other is its neighbours' links into the other (as just borrowed),
    share-weighted, times the factor again."""
    import scipy.sparse as sp

    w = np.zeros((6, 6))
    w[0, 1], w[3, 1], w[0, 2], w[1, 2] = 2.0, -1.0, 1.0, 0.5
    links = sp.csr_matrix(w)
    ids, index = ["a", "b", "c", "d", "m", "n"], {x: k for k, x in enumerate("abcdmn")}
    near = {"n": [("b", 0.75), ("c", 0.25)], "m": [("b", 1.0)]}
    got = cs.borrowed_links(links, near, index, ids, ["m", "n"], top_k=10, calibrate=2.0).toarray()
    col_n = 2.0 * np.asarray([1.75, 0.125 + 0.75 * 2.0, 0.25 * 1.0, -0.75])  # into n from a, b, c, d
    col_m = 2.0 * np.asarray([2.0, 2.0, 0.0, -1.0])  # into m: b's links in and b's own link
    np.testing.assert_allclose(got[:4, 5], col_n)
    np.testing.assert_allclose(got[:4, 4], col_m)
    assert got[4, 5] == pytest.approx(2.0 * 1.0 * col_n[1])  # m -> n through m's neighbour b
    assert got[5, 4] == pytest.approx(2.0 * (0.75 * col_m[1] + 0.25 * col_m[2]))  # n -> m through b and c
    np.testing.assert_allclose(got[4, :4], 2.0 * np.asarray([0, 0.5, 0.5, 0]))  # m's links out: b's row and b itself
    assert got[4, 4] == got[5, 5] == 0.0


def test_text_knn_keeps_k_most_similar_other_items():
    emb = np.asarray([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0, 0]], np.float32)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    k = cs.text_knn(emb, 1, chunk=2).toarray()
    assert np.argmax(k[0]) == 1 and np.argmax(k[2]) == 3 and (k > 0).sum(1).tolist() == [1, 1, 1, 1, 0]
    assert np.diag(k).sum() == 0


def test_after_the_append_the_test_users_are_those_whose_last_interaction_is_held_out(db, tmp_path):
    from kgrec_neo4j.core.schema import load_pack
    from kgrec_neo4j.load import load
    from kgrec_neo4j.model.export import export_train_graph

    data = tmp_path / "vg-slice"
    data.mkdir()
    for name in ("items.jsonl", "interactions.jsonl"):
        (data / name).write_text((SLICE / name).read_text())
    base, more, held, sizes = cs.write_split(data, tmp_path / "split", share=0.05, seed=1)
    assert sizes["held_out_items"] == len(held) and sizes["change_interactions"] > 0
    load(db, [base])
    load(db, [more], append=True)
    tg = export_train_graph(db, type_names=load_pack("video_games").names)
    index = {item: k for k, item in enumerate(tg.item_ids)}
    mask = np.zeros(len(tg.item_ids), bool)
    mask[[index[i] for i in held if i in index]] = True

    # what the loader's last-two-out gives after the append: base history, then the change, per user
    _, b_inter, _, m_inter, _ = cs.split_items(*_slice(), share=0.05, seed=1)
    hist = defaultdict(list)
    for part in (b_inter, m_inter):
        for r in sorted(part, key=lambda r: (r["user_id"], r["seq"])):
            hist[r["user_id"]].append(r["item_id"])
    expected = {u: h[-1] for u, h in hist.items() if len(h) >= 3 and h[-1] in held and h[-1] not in h[:-2]}
    labels = cs._labels(tg, "test", index, mask)
    assert labels and {u: tg.item_ids[j] for u, j in labels.items()} == expected
    # the other users: those whose test item is a trained item (what surfacing new items costs them)
    others = cs._labels(tg, "test", index, mask, trained=True)
    assert others and not set(others) & set(labels) and not mask[list(others.values())].any()
    assert len(others) + len(labels) == sum(bool(v) for v in tg.heldout("test").values())
    # a held-out item is a train edge only after the base history (the user had three or more of them)
    users = {u: k for k, u in enumerate(tg.user_ids)}
    for u, h in hist.items():
        train_items = {tg.item_ids[j] for j in tg.ui_item[tg.ui_user == users[u]]} if u in users else set()
        n_held = sum(i in held for i in h)
        assert not (train_items & held) or n_held >= 3


def test_link_variants_parse_and_a_bad_one_is_named():
    assert cs.parse_variant("x2", 20) == (20, 2.0, None)
    assert cs.parse_variant("x1.5o3", 20) == (20, 1.5, 3.0)
    assert cs.parse_variant("n5x1.5", 20) == (5, 1.5, None)
    assert cs.parse_variant("n10normo2", 20) == (10, "norm", 2.0)
    for bad in ("5x1.5", "x1.2.3", "x.", "n0x1", "x1o."):
        with pytest.raises(SystemExit, match=f"{bad!r} is not"):
            cs.parse_variant(bad, 20)
