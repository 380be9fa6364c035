"""Clustering under a similarity floor (no database): the floor, the number guard, memory-bounded paths,
the band search, deterministic medoids, the statistics, and the real-text variants (MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec_neo4j.concepts import cluster as C
from kgrec_neo4j.concepts.aliases import embedding_text
from kgrec_neo4j.concepts.report import type_stats
from kgrec_neo4j.concepts.title_mentions import read_items, title_mentions, typed_chunks


def _unit(n: int, d: int = 16, seed: int = 0, groups: int = 12, noise: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(groups, d))
    X = centers[rng.integers(0, groups, n)] + noise * rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("floor", [0.6, 0.75, 0.9])
def test_floor_holds_in_every_cluster_exact_path(floor):
    X = _unit(600)
    lab = C.FloorClustering(X, 0.55).labels(floor)
    assert C.min_pairwise(X, lab).min() >= floor - 1e-6
    # and clusters are not trivially singletons: complete linkage merged something
    assert lab.max() + 1 < len(X)


def test_floor_holds_on_greedy_path_and_is_close_to_exact():
    X = _unit(900, groups=4, noise=0.3)
    exact = C.FloorClustering(X, 0.6)
    greedy = C.FloorClustering(X, 0.6, dense_limit=50)  # forces the leader pass on big components
    assert any(c.size > 50 for c in greedy.components)
    for floor in (0.7, 0.8):
        lg = greedy.labels(floor)
        assert C.min_pairwise(X, lg).min() >= floor - 1e-6
        ke, kg = exact.labels(floor).max() + 1, lg.max() + 1
        assert abs(int(kg) - int(ke)) <= 0.35 * ke, (ke, kg)


def test_threshold_graph_matches_dense():
    X = _unit(300, seed=3)
    g = C.threshold_graph(X, 0.8, block=37)
    S = X @ X.T
    want = {(i, j) for i, j in zip(*np.nonzero(S >= 0.8)) if i != j}
    got = set(zip(*g.nonzero()))
    assert got == want


def test_condensed_distances_match_scipy_pdist():
    from scipy.spatial.distance import pdist

    X = _unit(120, seed=5)
    assert np.allclose(C.condensed_distances(X, block=7), np.clip(pdist(X.astype(np.float64), "cosine"), 0, None),
                       atol=1e-5)


def test_variant_guard_separates_numbers_and_variant_words():
    texts = ["playstation 4", "playstation 3", "playstation", "fifa 14", "fifa 15", "1tb hard drive", "playstation4"]
    codes = C.guard_codes(texts, "video_games")
    assert not codes.compatible(0, 1)
    assert not codes.compatible(0, 2)  # no number on one side is a different thing too (the family, not a variant)
    assert not codes.compatible(3, 4)
    assert codes.compatible(0, 6)  # the same letters and digits
    # identical vectors with different numbers or variant words never share a cluster, at any floor
    X = np.tile(_unit(1)[0], (4, 1))
    lab = C.FloorClustering(X, 0.5, ["xbox 360", "xbox one", "xbox", "x box"], pack="video_games").labels(0.9)
    assert len({lab[0], lab[1], lab[2]}) == 3 and lab[2] == lab[3]
    lab = C.FloorClustering(X, 0.5, None).labels(0.9)
    assert lab[0] == lab[1] == lab[2]


def test_variant_guard_on_greedy_path():
    X = np.tile(_unit(1)[0], (60, 1)) + 0.01 * _unit(60, d=16, seed=2)
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    texts = [f"final fantasy {r}" for r in ("x", "iv", "vii", "ix")] * 15
    lab = C.FloorClustering(X, 0.5, texts, dense_limit=10).labels(0.6)
    for a in range(60):
        for b in range(60):
            assert (lab[a] == lab[b]) <= (texts[a] == texts[b])


def test_choose_floor_meets_band_or_says_so():
    X = _unit(500, groups=30, noise=0.35)
    fc = C.FloorClustering(X, 0.5)
    k_lo, k_hi = fc.labels(0.5).max() + 1, fc.labels(0.95).max() + 1
    target = (int((k_lo + k_hi) / 2) - 5, int((k_lo + k_hi) / 2) + 5)
    ch = C.choose_floor(fc, C.Band(*target, floor_min=0.5, floor_max=0.95), start=0.95)
    assert ch.band_met and target[0] <= ch.n_clusters <= target[1]
    assert C.min_pairwise(X, ch.labels).min() >= ch.floor - 1e-6
    # an impossible band: the start floor is kept (the limit would merge more and still miss it), and reported
    ch = C.choose_floor(fc, C.Band(1, 2, floor_min=0.8, floor_max=0.9), start=0.85)
    at_start = fc.labels(0.85).max() + 1
    assert not ch.band_met and ch.floor == 0.85 and ch.n_clusters == at_start
    assert (0.8, fc.labels(0.8).max() + 1) in ch.tried and fc.labels(0.8).max() + 1 < at_start
    # the count jumps over the band between two floors: no floor meets it, the start is kept (it returned the limit)
    class Jumps:
        def labels(self, fl):
            k = 27 if fl >= 0.80 else 12 if fl >= 0.75 else 3
            return np.arange(k)

    ch = C.choose_floor(Jumps(), C.Band(5, 10, floor_min=0.7, floor_max=0.92), start=0.86)
    assert not ch.band_met and ch.floor == 0.86 and ch.n_clusters == 27, (ch.floor, ch.n_clusters, ch.tried)
    # too few even at the highest floor: the start floor is kept too
    ch = C.choose_floor(fc, C.Band(490, 500, floor_min=0.6, floor_max=0.7), start=0.65)
    assert not ch.band_met and ch.floor == 0.65 and ch.n_clusters == fc.labels(0.65).max() + 1


def test_band_rejects_bad_values():
    with pytest.raises(ValueError, match="lo=5, hi=2"):
        C.Band(5, 2)
    with pytest.raises(ValueError, match="floor"):
        C.Band(1, 2, floor_min=0.9, floor_max=0.8)
    with pytest.raises(ValueError, match="min_floor"):
        C.FloorClustering(_unit(3), 1.5)


def test_medoids_deterministic_and_members():
    X = _unit(200, seed=9)
    lab = C.FloorClustering(X, 0.6).labels(0.7)
    keys = [f"k{i:03d}" for i in range(200)]
    m1 = C.medoids(X, lab, keys)
    m2 = C.medoids(X, lab, keys)
    assert (m1 == m2).all()
    assert (lab[m1] == np.arange(lab.max() + 1)).all()


def test_type_stats_counts():
    X = _unit(6, seed=1)
    st = type_stats("T", list("abcdef"), X, np.array([3, 1, 1, 2, 1, 5]), np.array([0, 0, 1, -1, 1, 2]))
    assert st.mentions == 13 and st.unique_texts == 6 and st.concepts == 3 and st.singletons == 1
    assert st.coverage == pytest.approx(11 / 13, abs=1e-4)
    assert st.min_intra == pytest.approx(min(X[0] @ X[1], X[2] @ X[4]), abs=1e-4)


def test_title_rules_on_real_titles(data_dir):
    items = list(read_items(data_dir / "amazon-videogames-2018" / "items.jsonl.gz", limit=300))
    ms = title_mentions(items, domain="video_games")
    assert len(ms) > 300 and {m.type for m in ms} >= {"Compatibility", "Game Features"}
    assert ("Compatibility", "Nintendo DS", 0.9) in typed_chunks("Meteos: Disney Magic - Nintendo DS",
                                                                  domain="video_games")


def test_known_variants_are_one_value_for_the_encoder(settings):
    """PS4 / PlayStation 4 / Playstation 4: one vector after the abbreviation table; PS3 stays apart."""
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.extract.base import mention_key

    emb = get_embedder(settings)
    texts = ["PS4", "PlayStation 4", "Playstation 4", "PS3", "Xbox One"]
    keys = [embedding_text(mention_key(t), "video_games") for t in texts]
    X = emb.encode(keys)
    raw = emb.encode([mention_key(t) for t in texts])
    assert float(raw[0] @ raw[1]) > 0.85  # MiniLM alone already rates them close...
    lab = C.FloorClustering(X, 0.7, keys).labels(0.92)  # ...and at the strictest allowed floor they stay one
    assert lab[0] == lab[1] == lab[2]
    assert len({lab[0], lab[3], lab[4]}) == 3


def test_build_says_why_a_band_out_of_reach_leaves_the_floor():
    from kgrec_neo4j.cli.concepts import band_note
    from kgrec_neo4j.concepts.build import TypeBuild

    t = TypeBuild(type="Materials", values=28, concepts=27, floor=0.86, band=[5, 10], band_met=False,
                  tried=[(0.86, 27), (0.7, 26)])
    assert band_note(t) == ("Materials: no floor between --floor-min and --floor-max gives 5-10 clusters (26 at "
                            "0.7); the floor stays 0.86 (27 clusters there) rather than merge unlike values for a "
                            "band it would still miss. Widen the band or the floor limits.")
    # the clusters at the floor, not the concepts (clusters one item holds are left out of those)
    assert "(27 clusters there)" in band_note(t.model_copy(update={"concepts": 8}))
    assert band_note(t.model_copy(update={"band_met": True})) is None
    assert band_note(TypeBuild(type="Others", values=3, concepts=3, floor=0.86)) is None
