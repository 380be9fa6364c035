"""Interaction kinds: scheme parsing, text classifiers, the per-edge decision, the stage and its CLI."""

from __future__ import annotations

import json

import pytest

from kgrec_neo4j.users.interactions import (
    KindScheme,
    LexiconClassifier,
    LLMTextClassifier,
    Review,
    TextVerdict,
    agreement,
    classify_interactions,
    classify_messages,
    decide,
    lexicon_score,
)

# --- kinds ------------------------------------------------------------------------------------------


def test_default_scheme_matches_loader_baseline():
    s = KindScheme()
    assert [(s.role_of_rating(r), s.sign(s.role_of_rating(r))) for r in (1, 2, 3, 4, 5)] == [
        ("dislike", -1), ("dislike", -1), ("mixed", 0), ("like", 1), ("like", 1)]
    assert (s.kind("implicit"), s.sign("implicit")) == ("implicit", 1)


def test_scheme_parse_renames_folds_and_resigns():
    s = KindScheme.parse("mixed=-1,implicit:clicked=+1")
    assert s.sign("mixed") == -1 and s.kind("implicit") == "clicked" and s.sign("implicit") == 1
    f = KindScheme.parse("mixed:dislike")
    assert f.kind("mixed") == "dislike" and f.sign("mixed") == -1
    assert "mixed" not in f.signs


@pytest.mark.parametrize("spec", ["happy=+1", "like=+2", "like", "mixed:"])
def test_scheme_parse_rejects_bad_specs(spec):
    with pytest.raises(ValueError, match="kind|sign"):
        KindScheme.parse(spec)


# --- lexicon ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("title,text,label", [
    ("Great game", "I love it, the story is amazing and my kids play it every day.", "like"),
    ("Waste of money", "It stopped working after two days. Do not buy.", "dislike"),
    ("Not good", "The controls are not good and it is boring.", "dislike"),
    ("Five Stars", "ok", "like"),
    ("One Star", "", "dislike"),
    ("Mixed feelings", "Great graphics but a few bugs.", "mixed"),
])
def test_lexicon_clear_cases(title, text, label):
    v = LexiconClassifier().verdict(Review(title=title, text=text))
    assert v.label == label
    assert 0.0 <= v.confidence <= 1.0


def test_lexicon_negation_flips_and_dampens():
    assert lexicon_score("this is good")[0] > 0
    assert lexicon_score("this is not good")[0] < 0
    assert lexicon_score("not bad at all")[0] > lexicon_score("bad")[0]


# --- agreement and decision ----------------------------------------------------------------------------


def test_agreement_accuracy_and_macro_f1():
    true = ["like", "like", "dislike", "mixed"]
    pred = ["like", "dislike", "dislike", None]
    a = agreement(true, pred)
    assert a.accuracy == 0.5 and a.failed == 1
    # like: p=1, r=.5 -> .6667; dislike: p=.5, r=1 -> .6667; mixed: 0
    assert a.per_label_f1 == {"like": 0.6667, "mixed": 0.0, "dislike": 0.6667}
    assert a.macro_f1 == pytest.approx((0.6667 * 2) / 3, abs=1e-4)
    with pytest.raises(ValueError, match="same length"):
        agreement(["like"], [])


def test_decide_cases():
    s = KindScheme()
    like = TextVerdict(label="like", confidence=0.8)
    dis = TextVerdict(label="dislike", confidence=0.9)
    agree = decide(5.0, like, s)
    assert (agree.kind, agree.sign, agree.kind_source, agree.text_agrees) == ("like", 1, "rating+text", True)
    assert agree.confidence == pytest.approx(1 - (1 - 1.0) * (1 - 0.8))
    conflict = decide(4.0, dis, s)
    assert (conflict.kind, conflict.kind_source, conflict.kind_text, conflict.text_agrees) == (
        "like", "rating>text", "dislike", False)
    assert conflict.confidence < agree.confidence
    text_wins = decide(4.0, dis, s, prefer="text")
    assert (text_wins.kind, text_wins.sign, text_wins.kind_source) == ("dislike", -1, "text>rating")
    text_only = decide(None, dis, s)
    assert (text_only.kind, text_only.kind_source, text_only.confidence) == ("dislike", "text", 0.9)
    implicit = decide(None, None, s, implicit_confidence=0.4)
    assert (implicit.kind, implicit.sign, implicit.kind_source, implicit.confidence) == ("implicit", 1, "none", 0.4)
    for d in (agree, conflict, text_wins, text_only, implicit):
        assert 0.0 <= d.confidence <= 1.0


# --- LLM classifier with a fake chat model ------------------------------------------------------------


def _fake_client(settings, answers):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from kgrec_neo4j.llm import LLMClient

    return LLMClient(settings, chat_model=FakeListChatModel(responses=answers), cache=False,
                     max_output_retries=0, concurrency=1)


def test_llm_classifier_parses_structured_answers(settings):
    client = _fake_client(settings, [json.dumps({"label": "dislike", "confidence": 0.7}),
                                     "not json at all",
                                     json.dumps({"label": "like", "confidence": 1.7})])
    clf = LLMTextClassifier(client=client)
    out = clf.classify([Review(title="Bad", text="broke"), Review(text="??"), Review(title="Great")])
    assert out[0] == TextVerdict(label="dislike", confidence=0.7)
    assert out[1] is None and clf.failures["invalid_json"] == 1
    assert clf.last_errors[0] is None and clf.last_errors[2] is None  # the reason of each failure, for the store
    assert clf.last_errors[1].startswith("invalid_json")
    assert out[2] == TextVerdict(label="like", confidence=1.0)  # out-of-range self-report clamped
    msgs = classify_messages(Review(title="T", text="body"))
    assert msgs[0]["role"] == "system" and "Review title: T" in msgs[1]["content"]


# --- the stage against Neo4j ------------------------------------------------------------------------

GRAPH = """
UNWIND $rows AS r
MERGE (u:User {id: r.user})
MERGE (i:Item {id: r.item})
CREATE (u)-[:INTERACTED {seq: r.seq, rating: r.rating, review_title: r.title, review_text: r.text,
                         split: r.split, kind: 'implicit', sign: 1, kind_source: 'rating'}]->(i)
"""
ROWS = [
    {"user": "u1", "item": "i1", "seq": 0, "rating": 5.0, "title": "Love it", "text": "Great fun, works perfectly.", "split": "train"},  # noqa: E501
    {"user": "u1", "item": "i2", "seq": 1, "rating": 4.0, "title": "Waste of money", "text": "Broke after a day, do not buy.", "split": "train"},  # noqa: E501
    {"user": "u1", "item": "i3", "seq": 2, "rating": 1.0, "title": None, "text": None, "split": "valid"},
    {"user": "u1", "item": "i4", "seq": 3, "rating": None, "title": None, "text": None, "split": "test"},
    {"user": "u2", "item": "i1", "seq": 0, "rating": None, "title": "Terrible", "text": "Awful and boring.", "split": "train"},
    {"user": "u2", "item": "i2", "seq": 1, "rating": 3.0, "title": "", "text": "   ", "split": "train"},
]


@pytest.fixture(scope="module")
def small(db):
    db.write(GRAPH, rows=ROWS)
    return db


def _edges(db):
    return {(r["u"], r["seq"]): r for r in db.query(
        "MATCH (u:User)-[e:INTERACTED]->() RETURN u.id AS u, e.seq AS seq, e.kind AS kind, e.sign AS sign, "
        "e.kind_source AS source, e.kind_text AS kind_text, e.text_agrees AS agrees, e.confidence AS confidence, "
        "e.text_confidence AS tc")}


def test_classify_sets_kinds_sources_and_confidence(small):
    rep = classify_interactions(small, LexiconClassifier())
    e = _edges(small)
    assert (e["u1", 0]["kind"], e["u1", 0]["source"], e["u1", 0]["agrees"]) == ("like", "rating+text", True)
    # rating says like, text says dislike: rating kept, both recorded
    assert (e["u1", 1]["kind"], e["u1", 1]["sign"], e["u1", 1]["source"], e["u1", 1]["kind_text"],
            e["u1", 1]["agrees"]) == ("like", 1, "rating>text", "dislike", False)
    assert (e["u1", 2]["kind"], e["u1", 2]["sign"], e["u1", 2]["source"]) == ("dislike", -1, "rating")
    assert (e["u1", 3]["kind"], e["u1", 3]["sign"], e["u1", 3]["source"]) == ("implicit", 1, "none")
    assert (e["u2", 0]["kind"], e["u2", 0]["sign"], e["u2", 0]["source"]) == ("dislike", -1, "text")
    assert (e["u2", 1]["kind"], e["u2", 1]["sign"], e["u2", 1]["source"]) == ("mixed", 0, "rating")
    assert all(0.0 <= x["confidence"] <= 1.0 for x in e.values())
    assert rep.edges == 6 and rep.with_text == 3 and rep.implicit == 1 and rep.rating_only == 2
    assert (rep.agree, rep.disagree) == (1, 1)
    before = _edges(small)
    classify_interactions(small, LexiconClassifier())
    assert _edges(small) == before  # idempotent


def test_since_classifies_only_new_changed_or_unseen_edges(small):
    """``since`` (what `kgrec update` passes): an edge stamped by a later load, or never classified, is classified;
    every other edge keeps what it has."""
    classify_interactions(small, LexiconClassifier())
    small.write("MATCH ()-[e:INTERACTED]->() SET e.ingest = 1")
    small.write("MATCH (:User {id: 'u1'})-[e:INTERACTED {seq: 0}]->() SET e.kind = 'kept', e.sign = 0")  # old
    small.write("MATCH (:User {id: 'u1'})-[e:INTERACTED {seq: 2}]->() SET e.ingest = 2, e.kind = 'stale'")  # loaded
    small.write("MATCH (:User {id: 'u2'})-[e:INTERACTED {seq: 0}]->() REMOVE e.kind, e.kind_source, e.sign")  # unseen
    rep = classify_interactions(small, LexiconClassifier(), users=["u1", "u2"], since=1)
    e = _edges(small)
    assert rep.edges == 2
    assert (e["u1", 0]["kind"], e["u1", 0]["sign"]) == ("kept", 0)
    assert (e["u1", 2]["kind"], e["u2", 0]["kind"], e["u2", 0]["source"]) == ("dislike", "dislike", "text")
    classify_interactions(small, LexiconClassifier())  # every edge again, for the next tests
    assert _edges(small)["u1", 0]["kind"] == "like"


def test_since_selects_edges_once_by_element_id(small):
    """With ``since`` the edges are selected once (interactions/since: their element ids); writing, reading the texts
    and counting then seek exactly those edges instead of reading the users' edges again."""
    from kgrec_neo4j.core.resources import cypher

    classify_interactions(small, LexiconClassifier())
    small.write("MATCH ()-[e:INTERACTED]->() SET e.ingest = 1")
    assert small.query(cypher("interactions/since"), users=None, since=1, unseen=True) == []
    small.write("MATCH (:User {id: 'u1'})-[e:INTERACTED]->() WHERE e.seq IN [1, 2] SET e.ingest = 2")
    eids = small.value("MATCH (:User {id: 'u1'})-[e:INTERACTED]->() WHERE e.seq IN [1, 2] "
                       "RETURN collect(elementId(e))")
    got = small.query(cypher("interactions/since"), users=["u1", "u2"], since=1, unseen=True)
    assert [r["user"] for r in got] == ["u1"] and sorted(got[0]["edges"]) == sorted(eids)
    # an edge no classification has seen is selected while unseen edges are looked for, and only then
    small.write("MATCH (:User {id: 'u2'})-[e:INTERACTED {seq: 0}]->() REMOVE e.kind_source")
    u2 = small.value("MATCH (:User {id: 'u2'})-[e:INTERACTED {seq: 0}]->() RETURN elementId(e)")
    for users in (["u1", "u2"], None):
        got = {r["user"]: sorted(r["edges"]) for r in small.query(cypher("interactions/since"), users=users, since=1,
                                                                   unseen=True)}
        assert got == {"u1": sorted(eids), "u2": [u2]}
        got = {r["user"]: sorted(r["edges"]) for r in small.query(cypher("interactions/since"), users=users, since=1,
                                                                   unseen=False)}
        assert got == {"u1": sorted(eids)}
    classify_interactions(small, LexiconClassifier())  # (u2's edge classified again)
    texts = small.query(cypher("interactions/texts"), users=None, edges=eids)
    assert [(r["user"], r["seq"]) for r in texts] == [("u1", 1)]  # seq 2 has no text
    assert sum(r["n"] for r in small.query(cypher("interactions/summary"), users=None, edges=eids)) == 2
    assert sum(r["n"] for r in small.query(cypher("interactions/summary"), users=["u1"], edges=None)) == 4
    assert small.query(cypher("interactions/summary"), users=None, edges=[]) == []


def test_a_user_list_is_a_seek_per_user_not_a_scan(small):
    """With a list of users (``kgrec update`` passes the few it touched) each selection seeks those users by id: the
    branch that reads every user is planned but never entered (its label scan yields no row). The planner chose
    between a range seek and a scan of the ingest index from one run to the next (the scan read every interaction's
    entry) until the query asked for the seek."""
    from kgrec_neo4j.core.resources import cypher

    scheme = KindScheme()

    def profile(name: str, **params) -> list[tuple[str, int]]:
        with small.driver.session(database=small.database) as s:
            res = s.run("PROFILE " + cypher(name), params)
            list(res)
            plan = res.consume().profile
        out, todo = [], [plan]
        while todo:
            p = todo.pop()
            out.append((p["operatorType"].split("@")[0], int(p.get("rows", 0))))
            todo += p.get("children", [])
        return out

    write = dict(with_text=False, names=scheme.names, signs=scheme.signs, like_min=scheme.like_min_rating,
                 dislike_max=scheme.dislike_max_rating, implicit_confidence=0.5)
    for name, params in (("interactions/since", dict(since=0, unseen=True)), ("interactions/texts", dict(edges=None)),
                         ("interactions/summary", dict(edges=None)), ("interactions/set_without_text",
                                                                      dict(edges=None, **write))):
        ops = profile(name, users=["u1"], **params)
        assert any(op.startswith("NodeUniqueIndexSeek") and rows == 1 for op, rows in ops), (name, ops)
        if name == "interactions/since":  # the stamped edges: a range seek of the ingest index, never a scan of it
            assert any(op == "DirectedRelationshipIndexSeekByRange" for op, _ in ops), (name, ops)
        assert all(rows == 0 for op, rows in ops if "Scan" in op), (name, [(op, rows) for op, rows in ops
                                                                           if "Scan" in op and rows], ops)
        every = profile(name, users=None, **params)  # every user: the scan branch, and no seek
        assert any("Scan" in op and rows > 0 for op, rows in every), (name, every)
    classify_interactions(small, LexiconClassifier())  # (set_without_text rewrote rating decisions)


def test_rating_only_classification_clears_text_verdicts(small):
    classify_interactions(small, None, scheme=KindScheme.parse("mixed=-1"))
    e = _edges(small)
    assert (e["u1", 1]["kind"], e["u1", 1]["source"], e["u1", 1]["kind_text"]) == ("like", "rating", None)
    assert e["u2", 1]["sign"] == -1  # mixed re-signed by the scheme
    assert e["u2", 0]["kind"] == "implicit"  # no rating and text ignored -> implicit


def test_cli_classify(small, monkeypatch):
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["interactions", "classify", "--classifier", "lexicon", "--silent"])
    assert r.exit_code == 0, r.output
    assert "classified 6 edges with lexicon" in r.output
    assert _edges(small)["u2", 0]["source"] == "text"
    bad = CliRunner().invoke(cli, ["interactions", "classify", "--kinds", "happy=+1"])
    assert bad.exit_code == 2 and "--kinds" in bad.output


def test_cli_classify_with_the_prototype_classifier_of_another_pack_than_the_databases_is_refused(small):
    """The prototype classifier compares reviews with its pack's sentences: run without --pack on a database of another
    pack (a Movies graph, the video-games default) it classified every review against sentences about games, and
    said nothing. It now names the database's pack, as extraction does, and writes nothing."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    before = _edges(small)
    r = CliRunner().invoke(cli, ["--pack", "movies", "interactions", "classify", "--classifier", "prototype",
                                 "--silent"])
    assert r.exit_code == 1, (r.output, r.exception)
    assert "Error: this database holds the knowledge types of type pack 'video_games'" in r.output, r.output
    assert _edges(small) == before


@pytest.mark.parametrize("pack, says, never", [("movies", "I loved this film, a masterpiece.", "game"),
                                               ("video_games", "I love this game, it is great fun.", "film"),
                                               ("office_products", "Excellent, works perfectly. Highly recommended.",
                                                "game")])
def test_the_prototype_classifier_speaks_the_packs_domain(monkeypatch, tmp_path, pack, says, never):
    """`--classifier prototype` compared every domain's reviews with sentences about games ("Terrible game, a
    complete waste of money", "Worst controller I have ever owned"). Its sentences are now the pack's
    (`review_examples`), or domain-neutral ones for a pack without them."""
    import numpy as np

    import kgrec_neo4j.core.embed as embed
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.users.interactions.classifiers import make_classifier

    seen: list[str] = []

    class Recorder:
        def encode(self, texts):
            seen.extend(texts)
            return np.eye(len(texts), 4, dtype=np.float32)

    monkeypatch.setattr(embed, "get_embedder", lambda settings: Recorder())
    clf = make_classifier("prototype", load_settings({"type_pack": pack, "home": str(tmp_path)}, environ={}))
    assert clf is not None and says in seen and not any(never in s.lower() for s in seen), seen


def test_a_pack_with_malformed_review_examples_is_refused_naming_the_key(tmp_path):
    from kgrec_neo4j.core.errors import SchemaError
    from kgrec_neo4j.core.schema import load_pack

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nreview_examples: {like: [great]}\ntypes:\n  - {name: Others, definition: anything}\n")
    with pytest.raises(SchemaError, match="review_examples must map each of like, mixed and dislike"):
        load_pack(str(bad))


def test_cli_classify_with_failed_texts_exits_4_and_a_rerun_retries_them(small, monkeypatch, tmp_path):
    """`interactions classify --classifier llm` counted the review texts the LLM failed on ("1 text failures") and
    exited 0, their edges decided without their text. It exits 4 after its summary (0 with --allow-failures), every
    edge written; the same command again classifies the failed text."""
    from click.testing import CliRunner
    from fakes.openai_server import FakeOpenAIServer, json_reply, ok

    from kgrec_neo4j.cli import cli

    for k, v in {"KGREC_LLM_MODEL": "fake-model", "KGREC_LLM_MAX_RETRIES": "0", "KGREC_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    args = ["interactions", "classify", "--classifier", "llm", "--silent"]
    with FakeOpenAIServer(json_reply({"label": "dislike", "confidence": 0.9})) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        srv.script(*[ok("not json")] * 4, match="Awful and boring")  # u2's first review, without a rating
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 4, r.output
        assert "classified 6 edges with llm" in r.output and "1 text failures" in r.output
        assert r.stderr.strip().splitlines()[-1] == (
            "Error: 1 review text could not be classified (invalid_json: 1); their edges took the rating's kind "
            "(implicit without a rating), each keeps its reason in INTERACTED.text_error, and every edge was written. "
            "Run the same command again to retry them, or pass --allow-failures to accept them (exit code 0)")
        assert (_edges(small)["u2", 0]["kind"], _edges(small)["u2", 0]["source"]) == ("implicit", "none")
        srv.script(*[ok("not json")] * 4, match="Awful and boring")
        r = CliRunner().invoke(cli, [*args, "--allow-failures"])
        assert r.exit_code == 0, r.output
        assert r.stderr.strip().splitlines()[-1].endswith("(exit code 0: --allow-failures)"), r.stderr
        srv.reset()
        r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "text failures" not in r.output and not r.stderr, r.output
    assert (_edges(small)["u2", 0]["kind"], _edges(small)["u2", 0]["source"]) == ("dislike", "text")


def test_a_failed_review_texts_reason_is_kept_on_its_edge_shown_by_status_and_cleared_by_the_rerun(
        small, monkeypatch, tmp_path):
    """A review text the LLM classifier failed on was counted by reason, but its edge said nothing of it (a failed
    item keeps its reason in Item.extract_error): the edge read as a plain rating-only one and `kgrec status` could not
    show it. The edge keeps the reason in INTERACTED.text_error (bounded, the API key hidden), the run names it,
    `kgrec status` counts such texts, and the rerun that classifies the text removes it."""
    from click.testing import CliRunner
    from fakes.openai_server import FakeOpenAIServer, Reply, json_reply

    from kgrec_neo4j.cli import cli

    key = "sk-test-0123456789abcdef"
    for k, v in {"KGREC_LLM_MODEL": "fake-model", "KGREC_LLM_MAX_RETRIES": "0", "KGREC_HOME": str(tmp_path),
                 "KGREC_LLM_API_KEY": key}.items():
        monkeypatch.setenv(k, v)
    args = ["interactions", "classify", "--classifier", "llm", "--silent"]
    refused = Reply("status", status=400, content=f"bad request (key {key}): " + "x" * 5000)
    with FakeOpenAIServer(json_reply({"label": "dislike", "confidence": 0.9})) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        srv.script(*[refused] * 4, match="Awful and boring")  # u2's first review, without a rating
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 4, r.output
        err = small.query("MATCH (:User {id: 'u2'})-[e:INTERACTED {seq: 0}]->() RETURN e.text_error AS error, "
                          "e.text_error_by AS by, e.text_failed_at IS NOT NULL AS at")[0]
        assert err["error"].startswith("http_error") and "HTTP 400" in err["error"], err
        assert key not in err["error"] and "***" in err["error"] and len(err["error"]) <= 2000
        assert (err["by"], err["at"]) == ("llm", True)
        assert small.value("MATCH ()-[e:INTERACTED]->() WHERE e.text_error IS NOT NULL RETURN count(e)") == 1
        assert "user u2 seq 0: http_error" in r.stderr and "INTERACTED.text_error" in r.stderr
        assert key not in r.output and key not in r.stderr
        r = CliRunner().invoke(cli, ["status"])
        assert "failures:  1 review text the classifier failed on (reason in INTERACTED.text_error" in r.output
        srv.reset()  # (an HTTP 400 is not asked again: the scripted replies left over go)
        r = CliRunner().invoke(cli, args)  # the documented retry: the same command again
    assert r.exit_code == 0, r.output
    assert small.value("MATCH ()-[e:INTERACTED]->() WHERE e.text_error IS NOT NULL OR e.text_error_by IS NOT NULL "
                       "OR e.text_failed_at IS NOT NULL RETURN count(e)") == 0
    assert (_edges(small)["u2", 0]["kind"], _edges(small)["u2", 0]["source"]) == ("dislike", "text")
    r = CliRunner().invoke(cli, ["status"])
    assert r.exit_code == 0 and "failures:" not in r.output, r.output
