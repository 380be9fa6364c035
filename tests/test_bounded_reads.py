"""Bounded Cypher reads: an item with thousands of reviews, or a user with thousands of interactions, costs the read
the same transaction memory as a small one (the limit is applied inside the subquery, before anything is
collected). Measured with PROFILE's GlobalMemory on the real server."""

from __future__ import annotations

import pytest

from kgrec_neo4j.core.resources import cypher


def _memory(db, query: str, **params) -> int:
    with db.driver.session(database=db.database) as ses:
        summary = ses.run("PROFILE " + query, **params).consume()
    return int(summary.profile["args"]["GlobalMemory"])


@pytest.fixture
def probe(db):
    db.write("MATCH (n:MemProbe) DETACH DELETE n")
    yield db
    db.write("MATCH (n:MemProbe) DETACH DELETE n")


def test_reading_a_popular_items_reviews_is_bounded(probe):
    """read_reviews collected every training review of an item, then sliced: 2,000 reviews cost 20x the memory of
    100 for the same 3 reviews returned."""
    probe.write("CREATE (:Item:MemProbe {id: 'memprobe-hot'})")

    def add(n: int, start: int) -> None:
        probe.write("MATCH (i:Item {id: 'memprobe-hot'}) UNWIND range($start, $start + $n - 1) AS k "
                    "CREATE (:User:MemProbe {id: 'memprobe-u' + toString(k)})"
                    "-[:INTERACTED {split: 'train', review_text: $t + toString(k), timestamp: k, seq: k}]->(i)",
                    n=n, start=start, t="x" * 2000)

    q = cypher("extract/read_reviews")
    add(100, 0)
    small = _memory(probe, q, ids=["memprobe-hot"], max_reviews=3)
    add(1900, 100)
    large = _memory(probe, q, ids=["memprobe-hot"], max_reviews=3)
    rows = probe.query(q, ids=["memprobe-hot"], max_reviews=3)
    assert [r[-4:] for r in rows[0]["reviews"]] == ["xxx0", "xxx1", "xxx2"]  # the first three, in order
    assert large < 2 * small + 100_000, (small, large)


def _like_items(probe, n: int, start: int, concepts: str) -> None:
    """'memprobe-user' likes ``n`` new items (seq ``start`` on), each with every probe concept matching ``concepts``
    (a WHERE condition on ``c``)."""
    probe.write("MATCH (u:User {id: 'memprobe-user'}) UNWIND range($start, $start + $n - 1) AS k "
                "CREATE (u)-[:INTERACTED {sign: 1, rating: 5.0, timestamp: k, seq: k, kind: 'like'}]->"
                "(j:Item:MemProbe {id: 'memprobe-j' + toString(k), title: 'liked ' + toString(k)}) "
                f"WITH j MATCH (c:Concept:MemProbe) WHERE {concepts} "
                "CREATE (j)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c)", n=n, start=start)


def _explain_a_long_history(probe, graph: str) -> tuple[int, int, dict]:
    """``graph`` creates the user 'memprobe-user', the concept 'memprobe-c' and the target item; the user then likes
    100, then 3,100 items of that concept. Returns the explanation query's memory after each, and the target's
    evidence after the second (with $max_reach = 50)."""
    probe.write(graph)
    q = cypher("explain/evidence")
    params = {"user": "memprobe-user", "items": ["memprobe-target"], "run": "none", "per_via": 2, "max_reach": 50}
    _like_items(probe, 100, 0, "c.id = 'memprobe-c'")
    small = _memory(probe, q, **params)
    _like_items(probe, 3000, 100, "c.id = 'memprobe-c'")
    large = _memory(probe, q, **params)
    return small, large, probe.query(q, **params)[0]["items"][0]


def test_explaining_for_a_user_with_a_long_history_is_bounded(probe):
    """The explanation query collected the user's whole (interaction, concept) side before matching the items:
    memory grew with the history. Now at most $max_reach rows, the most recent ones."""
    small, large, target = _explain_a_long_history(probe, (
        "CREATE (u:User:MemProbe {id: 'memprobe-user'}) "
        "CREATE (c:Concept:MemProbe {id: 'memprobe-c', name: 'probe concept', type: 'Others'}) "
        "CREATE (i:Item:MemProbe {id: 'memprobe-target', title: 'target'})-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c)"))
    via = [s["via"] for s in target["shared"]]
    assert len(via) == 50 and all(int(v.removeprefix("memprobe-j")) >= 3050 for v in via)  # the 50 most recent
    assert large < 2 * small + 100_000, (small, large)


def test_family_paths_for_a_user_with_a_long_history_are_bounded(probe):
    """The family side of the explanation query (the user's concepts, each with its BROADER relatives) holds at most
    $max_reach rows, the most recent ones, however long the history: liked items of one concept, a target with a
    sibling concept of it."""
    small, large, target = _explain_a_long_history(probe, (
        "CREATE (u:User:MemProbe {id: 'memprobe-user'}) "
        "CREATE (c:Concept:MemProbe {id: 'memprobe-c', name: 'probe 360', type: 'Others'})"
        "-[:BROADER]->(:Concept:MemProbe {id: 'memprobe-p', name: 'probe', type: 'Others'})"
        "<-[:BROADER]-(s:Concept:MemProbe {id: 'memprobe-s', name: 'probe one', type: 'Others'}) "
        "CREATE (i:Item:MemProbe {id: 'memprobe-target', title: 'target'})-[:HAS_KNOWLEDGE {confidence: 1.0}]->(s)"))
    fam = target["family"]
    # two relatives per liked item (its concept's parent and the sibling): 50 rows are the 25 most recent items
    assert len(fam) == 25 and all(int(f["via"].removeprefix("memprobe-j")) >= 3075 for f in fam)
    assert {(p["family"], p["parent"]) for f in fam for p in f["paths"]} == {("sibling", "memprobe-p")}
    assert not target["shared"]
    assert large < 2 * small + 100_000, (small, large)


def test_explaining_with_the_served_reach_grows_with_the_history_not_its_square(probe):
    """With the served $max_reach (explain.MAX_REACH, 20,000) the explanation query sorted the user's (interaction,
    concept) rows while every row still held the whole history list: a MovieLens user with 490 ratings of movies
    with a dozen concepts each needed 1.4 GiB and `kgrec recommend --explain` failed on the transaction memory
    limit. Now no step sorts rows that carry a collected list: six times the history costs about six times the
    memory, not thirty-six."""
    from kgrec_neo4j.serve.explain import MAX_REACH

    probe.write("CREATE (:User:MemProbe {id: 'memprobe-user'}) "
                "WITH 1 AS one UNWIND range(0, 11) AS k "
                "CREATE (:Concept:MemProbe {id: 'memprobe-c' + toString(k), name: 'probe ' + toString(k), "
                "type: 'Others'})")
    probe.write("CREATE (i:Item:MemProbe {id: 'memprobe-target', title: 'target'}) WITH i "
                "MATCH (c:Concept:MemProbe) WHERE c.id IN ['memprobe-c0', 'memprobe-c1', 'memprobe-c2'] "
                "CREATE (i)-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c)")

    q = cypher("explain/evidence")
    params = {"user": "memprobe-user", "items": ["memprobe-target"], "run": "none", "per_via": 2,
              "max_reach": MAX_REACH}
    _like_items(probe, 100, 0, "c.id STARTS WITH 'memprobe-c'")
    small = _memory(probe, q, **params)
    _like_items(probe, 500, 100, "c.id STARTS WITH 'memprobe-c'")
    large = _memory(probe, q, **params)
    target = probe.query(q, **params)[0]["items"][0]
    assert len(target["shared"]) == 600
    assert {c["concept"] for s in target["shared"] for c in s["concepts"]} == {"memprobe-c0", "memprobe-c1"}
    assert large < 10 * small, (small, large)


def test_browser_concept_neighbourhood_is_bounded(probe):
    """cypher/browser/concept_neighbourhood.cypher matched the concept's items, users and mentions as chained
    OPTIONAL MATCHes and sliced after collecting: it built items x users x mentions rows (36,000 for one platform
    concept of a 300-user demo) to show 30 + 30 + 20 of them. Each list is now read on its own, up to its limit:
    no step of the plan handles more rows for a concept of 400 items and 400 users than for one of 40."""
    probe.write("CREATE (:Concept:MemProbe {id: 'memprobe-c', name: 'Probe Concept', type: 'Others'})")

    def add(n: int, start: int) -> None:
        probe.write("MATCH (c:Concept {id: 'memprobe-c'}) UNWIND range($start, $start + $n - 1) AS k "
                    "CREATE (:Item:MemProbe {id: 'memprobe-i' + toString(k)})-[:HAS_KNOWLEDGE {confidence: 1.0}]->(c) "
                    "CREATE (:User:MemProbe {id: 'memprobe-u' + toString(k)})"
                    "-[:INTERESTED_IN {horizon: 'long', polarity: 1, weight: 0.5, confidence: 0.5}]->(c)",
                    n=n, start=start)

    def most_rows(**params) -> int:
        with probe.driver.session(database=probe.database) as ses:
            plan = ses.run("PROFILE " + q, **params).consume().profile
        todo, most = [plan], 0
        while todo:
            op = todo.pop()
            most = max(most, op.get("rows", 0))
            todo += op.get("children", [])
        return most

    q = cypher("browser/concept_neighbourhood").strip().rstrip(";")
    add(40, 0)
    small = most_rows(concept="memprobe-c")
    add(360, 40)
    large = most_rows(concept="memprobe-c")
    rows = probe.query(q, concept="probe concept")  # by name, case-insensitive
    assert len(rows) == 1 and len(rows[0]["items"]) == 30 and len(rows[0]["users"]) == 30
    assert large <= small, (small, large)
