"""Confidence: the documented formulas stay in [0, 1] and move the right way; the report counts right."""

from __future__ import annotations

import itertools

import pytest

from kgrec_neo4j.core.errors import KgrecError
from kgrec_neo4j.users.confidence import (
    EDGE_TYPES,
    agreement_confidence,
    confidence_report,
    format_report,
    knowledge_confidence,
    llm_update_confidence,
    noisy_or,
    offline_interest_confidence,
    rating_confidence,
    update_confidence,
)

GRID = [0.0, 0.1, 0.5, 0.9, 1.0]


def test_noisy_or_bounds_and_monotone():
    assert noisy_or([]) == 0.0 and noisy_or([1.0]) == 1.0
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([2.0, -1.0]) == 1.0  # clamped inputs
    assert noisy_or([0.3, 0.4]) > noisy_or([0.3])


def test_rating_confidence_shape():
    assert [rating_confidence(r) for r in (1, 2, 3, 4, 5)] == [1.0, 0.8, 0.6, 0.8, 1.0]


def test_all_formulas_in_unit_interval():
    for a, b in itertools.product(GRID, GRID):
        for agrees, prefer in itertools.product((True, False), ("rating", "text")):
            assert 0.0 <= agreement_confidence(a, b, agrees, prefer) <= 1.0
        assert 0.0 <= knowledge_confidence([a, b], [b, a]) <= 1.0
        assert 0.0 <= llm_update_confidence(a, b) <= 1.0
        for same in (True, False):
            assert 0.0 <= update_confidence(a, b, same) <= 1.0
        assert 0.0 <= offline_interest_confidence([a, b], a + b, b) <= 1.0


def test_formulas_move_the_right_way():
    assert agreement_confidence(0.8, 0.9, True) > agreement_confidence(0.8, 0.9, False)
    assert agreement_confidence(0.8, 0.9, False) < 0.8  # a confident contradiction lowers it
    assert update_confidence(0.5, 0.5, True) > 0.5 > update_confidence(0.5, 0.5, False)
    assert update_confidence(None, 0.3, False) == 0.3
    one = offline_interest_confidence([1.0], 1.0, 0.0)
    two = offline_interest_confidence([1.0, 1.0], 2.0, 0.0)
    torn = offline_interest_confidence([1.0, 1.0], 2.0, 1.0)
    assert (one, two) == (0.5, 0.75) and torn == pytest.approx(0.75 / 3)
    # the concept stage's Cypher formula (item_knowledge.cypher) for two mentions
    assert knowledge_confidence([0.9, 0.5], [1.0, 0.8]) == pytest.approx(1 - (1 - 0.9) * (1 - 0.4))


# --- report on a small graph ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conf_graph(db):
    db.write("CREATE (u:User {id: 'cu'}), (i:Item {id: 'ci'}), (c:Concept {id: 'cc', type: 'Others', name: 'x'}) "
             "WITH u, i, c UNWIND range(0, 9) AS k "
             "CREATE (u)-[:INTERACTED {seq: k, split: 'train', kind_source: CASE WHEN k < 8 THEN 'rating' END, "
             "                         confidence: k / 10.0}]->(i)")
    db.write("MATCH (i:Item {id: 'ci'}), (c:Concept {id: 'cc'}) CREATE (i)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c)")
    return db


def test_report_counts_quantiles_and_histogram(conf_graph):
    rep = confidence_report(conf_graph, bins=5, min_confidence=0.5)
    by = {e.edge_type: e for e in rep.edges}
    inter = by["INTERACTED"]
    assert inter.edges == 8 and inter.with_confidence == 8  # only classified edges (kind_source set)
    assert inter.histogram == [2, 2, 2, 2, 0] and sum(inter.histogram) == inter.with_confidence
    assert inter.quantiles["p0"] == 0.0 and inter.quantiles["p100"] == pytest.approx(0.7)
    assert inter.at_or_above_min == 3 and inter.out_of_range == 0
    assert inter.mean == pytest.approx(sum(k / 10 for k in range(8)) / 8)
    hk = by["HAS_KNOWLEDGE"]
    assert hk.histogram == [0, 0, 0, 0, 1]  # 1.0 falls in the last bin
    assert by["INTERESTED_IN"].edges == 0 and by["INTERESTED_IN"].quantiles == {}
    text = format_report(rep)
    assert "INTERACTED: 8 edges, 8 with confidence" in text and "[0.80, 1.00]" in text
    assert set(EDGE_TYPES) == set(by)


def test_report_refuses_unknown_edge_types(conf_graph):
    with pytest.raises(KgrecError, match="unknown edge type 'MENTIONS'"):
        confidence_report(conf_graph, edge_types=["MENTIONS"])
    with pytest.raises(ValueError, match="bins"):
        confidence_report(conf_graph, bins=0)
