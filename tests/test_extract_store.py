"""Storing extraction results in Neo4j, and `extract_items` / `kgrec extract items` end to end."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from kgrec_neo4j.core.errors import UnknownTypeError
from kgrec_neo4j.core.schema import KnowledgeType, TypePack, load_pack
from kgrec_neo4j.extract.base import ItemResult, ItemText, KnowledgePoint
from kgrec_neo4j.extract.offline import OfflineExtractor
from kgrec_neo4j.extract.run import extract_items
from kgrec_neo4j.extract.store import write_results

PACK = load_pack("video_games")

# real titles of Amazon Video Games 2018
ITEMS = [
    ItemText(item_id="B00VU4J13W", title="Call of Duty: Black Ops III - Standard Edition - PlayStation 4"),
    ItemText(item_id="B016VFPZVG", title="Fallout 4 Season Pass - PS4 [Digital Code]"),
    ItemText(item_id="B009CL6LA6", title="Afterglow Universal Wireless Headset - Blue"),
    ItemText(item_id="B00D4WTO1M", title="Call of Duty: Ghosts - PlayStation 4"),
]


class NoEmbedder:
    dim = 8

    def encode(self, texts):
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def _put_items(db, items: list[ItemText]) -> None:
    db.write(
        "UNWIND $rows AS r MERGE (i:Item {id: r.item_id}) "
        "SET i.title = r.title, i.description = r.description, i.features = r.features, "
        "i.categories = r.categories, i.brand = r.brand",
        rows=[it.model_dump(exclude={"reviews"}) for it in items],
    )


def _counts(db) -> dict:
    return db.query(
        "OPTIONAL MATCH (m:Mention) WITH count(m) AS mentions "
        "OPTIONAL MATCH ()-[r:MENTIONS]->() RETURN mentions, count(r) AS edges")[0]


def _pt(t, v, c=0.9):
    return KnowledgePoint(type=t, value=v, confidence=c)


@pytest.fixture()
def fresh(db):
    db.write("MATCH (n) WHERE n:Item OR n:Mention DETACH DELETE n")
    _put_items(db, ITEMS)
    return db


def _results():
    return [
        ItemResult(item_id="B00VU4J13W", text_hash=ITEMS[0].text_hash(),
                   points=[_pt("Compatibility", "PlayStation 4"), _pt("Game Features", "Call of Duty"),
                           _pt("Game Features", "call of  duty", 0.5)]),
        ItemResult(item_id="B00D4WTO1M", text_hash=ITEMS[3].text_hash(),
                   points=[_pt("Compatibility", "Playstation-4"), _pt("Game Features", "Call of Duty")]),
    ]


def test_write_is_idempotent_and_merges_mentions(fresh):
    rep = write_results(fresh, _results(), extractor="offline", run="r1", pack=PACK)
    assert rep.items_done == 2 and rep.mentions_written == 4 and rep.dropped == {"duplicate": 1}
    first = _counts(fresh)
    assert first == {"mentions": 2, "edges": 4}  # "PlayStation 4" and "Playstation-4" share a key
    text = fresh.value("MATCH (m:Mention {type: 'Compatibility', key: 'playstation 4'}) RETURN m.text")
    assert text == "PlayStation 4"  # the first surface form seen
    conf = fresh.value("MATCH (:Item {id: 'B00VU4J13W'})-[r:MENTIONS]->(:Mention {key: 'call of duty'}) "
                       "RETURN r.confidence")
    assert conf == pytest.approx(0.9)
    rep2 = write_results(fresh, _results(), extractor="offline", run="r2", pack=PACK)
    assert _counts(fresh) == first and rep2.mentions_created == 0
    row = fresh.query("MATCH (i:Item {id: 'B00VU4J13W'}) RETURN i.extracted_by AS by, i.text_hash AS h, "
                      "i.extract_hashes AS hs")[0]
    assert row == {"by": ["offline"], "h": ITEMS[0].text_hash(), "hs": [f"offline:{ITEMS[0].text_hash()}"]}


def test_rewrite_replaces_an_items_mentions(fresh):
    write_results(fresh, _results(), extractor="offline", run="r1", pack=PACK)
    write_results(fresh, [ItemResult(item_id="B00VU4J13W", text_hash="h2", points=[_pt("Others", "Black Ops")])],
                  extractor="offline", run="r2", pack=PACK)
    got = {r["k"] for r in fresh.query("MATCH (:Item {id: 'B00VU4J13W'})-[:MENTIONS]->(m) RETURN m.key AS k")}
    assert got == {"black ops"}
    # mentions still used by the other item stay; none is orphaned
    assert fresh.value("MATCH (m:Mention) WHERE NOT (m)<-[:MENTIONS]-() RETURN count(m)") == 0
    assert _counts(fresh) == {"mentions": 3, "edges": 3}


def test_an_orphan_mention_keeps_users_pending_interests_on_it(fresh):
    """Deleting an orphan mention also deleted the users' pending interest records on it."""
    write_results(fresh, [ItemResult(item_id="B00VU4J13W", text_hash="h1", points=[_pt("Others", "Black Ops")])],
                  extractor="offline", run="r1", pack=PACK)
    fresh.write("MERGE (u:User {id: 'pending-user'}) WITH u MATCH (m:Mention {type: 'Others', key: 'black ops'}) "
                "MERGE (u)-[:INTEREST_MENTION {horizon: 'long', seq: 3, extractor: 'llm'}]->(m)")
    write_results(fresh, [ItemResult(item_id="B00VU4J13W", text_hash="h2", points=[_pt("Others", "Zombies")])],
                  extractor="offline", run="r2", pack=PACK)
    assert fresh.value("MATCH (:User {id: 'pending-user'})-[x:INTEREST_MENTION]->(m:Mention {key: 'black ops'}) "
                       "RETURN count(x)") == 1
    # a mention nobody points at is still removed
    assert fresh.value("MATCH (m:Mention) WHERE NOT (m)<-[:MENTIONS]-() AND NOT (m)<-[:INTEREST_MENTION]-() "
                       "RETURN count(m)") == 0
    fresh.write("MATCH (u:User {id: 'pending-user'}) DETACH DELETE u")


def test_other_extractors_mentions_are_kept(fresh):
    write_results(fresh, _results(), extractor="llm", run="l1", pack=PACK)
    write_results(fresh, _results(), extractor="offline", run="o1", pack=PACK)
    write_results(fresh, [ItemResult(item_id="B00VU4J13W", text_hash="x", points=[])],
                  extractor="offline", run="o2", pack=PACK)
    n = fresh.value("MATCH (:Item {id: 'B00VU4J13W'})-[r:MENTIONS]->() RETURN collect(DISTINCT r.extractor)")
    assert n == ["llm"]
    by = fresh.value("MATCH (i:Item {id: 'B00VU4J13W'}) RETURN i.extracted_by")
    assert sorted(by) == ["llm", "offline"]


@pytest.mark.parametrize("in_pack", [False, True])
def test_unknown_type_refuses_the_batch(fresh, in_pack):
    write_results(fresh, _results(), extractor="offline", run="r1", pack=PACK)
    before = _counts(fresh)
    bad = [ItemResult(item_id="B009CL6LA6", text_hash="h", points=[_pt("Components", "wireless headset")]),
           ItemResult(item_id="B00VU4J13W", text_hash="h", points=[_pt("Mood", "gloomy")])]
    # in_pack: the pack knows "Mood" but the database does not -> the check inside the transaction refuses
    pack = TypePack(PACK.name, PACK.domain, PACK.types + (KnowledgeType("Mood", "how it feels"),)) if in_pack else PACK
    with pytest.raises(UnknownTypeError) as e:
        write_results(fresh, bad, extractor="offline", run="r2", pack=pack)
    msg = str(e.value)
    assert "'Mood'" in msg and "Compatibility" in msg and "Nothing was written" in msg
    assert _counts(fresh) == before
    assert fresh.value("MATCH (i:Item {id: 'B009CL6LA6'}) RETURN i.extracted_by") is None
    assert fresh.value("MATCH (:Item {id: 'B00VU4J13W'})-[r:MENTIONS]->() RETURN count(r)") == 2


def test_failed_item_is_not_half_written(fresh):
    write_results(fresh, _results(), extractor="offline", run="r1", pack=PACK)
    failed = ItemResult(item_id="B00VU4J13W", text_hash="h2", error="LLMError: answer was not valid JSON",
                        points=[_pt("Others", "partial point")])
    rep = write_results(fresh, [failed], extractor="offline", run="r2", pack=PACK)
    assert rep.items_failed == 1 and rep.items_done == 0 and rep.mentions_written == 0
    row = fresh.query("MATCH (i:Item {id: 'B00VU4J13W'}) OPTIONAL MATCH (i)-[r:MENTIONS]->() "
                      "RETURN i.extract_error AS err, i.extract_failed_at IS NOT NULL AS at, "
                      "i.extracted_by AS by, i.extract_hashes AS hashes, count(r) AS n")[0]
    # nothing of the failed answer; the earlier extraction stays whole (it was deleted: a failed re-extraction lost
    # the item's knowledge), with the hash of the text it came from, so the new text is retried by the next run
    assert row == {"err": "LLMError: answer was not valid JSON", "at": True, "by": ["offline"],
                   "hashes": [f"offline:{ITEMS[0].text_hash()}"], "n": 2}
    assert fresh.value("MATCH (m:Mention {key: 'partial point'}) RETURN count(m)") == 0
    # an item never extracted before keeps nothing of its failed answer either
    write_results(fresh, [ItemResult(item_id="B009CL6LA6", text_hash="h", error="LLMError: timeout",
                                     points=[_pt("Others", "partial point")])], extractor="offline", run="r2", pack=PACK)
    assert fresh.query("MATCH (i:Item {id: 'B009CL6LA6'}) OPTIONAL MATCH (i)-[r:MENTIONS]->() "
                       "RETURN i.extract_hashes AS h, count(r) AS n")[0] == {"h": None, "n": 0}
    # a later success clears the error
    ok = ItemResult(item_id="B00VU4J13W", text_hash="h3", points=[_pt("Others", "Black Ops")])
    write_results(fresh, [ok], extractor="offline", run="r3", pack=PACK)
    assert fresh.value("MATCH (i:Item {id: 'B00VU4J13W'}) RETURN i.extract_error") is None


def test_missing_item_is_reported_not_created(fresh):
    rep = write_results(fresh, [ItemResult(item_id="nope", text_hash="h", points=[_pt("Others", "x y")])],
                        extractor="offline", run="r", pack=PACK)
    assert rep.items_missing == ["nope"] and rep.mentions_written == 0
    assert fresh.value("MATCH (i:Item {id: 'nope'}) RETURN count(i)") == 0
    assert fresh.value("MATCH (m:Mention) RETURN count(m)") == 0


def test_extract_items_skips_done_and_reextracts_changed_text(fresh, settings):
    ex = OfflineExtractor(settings, PACK, embedder=NoEmbedder())
    rep = extract_items(fresh, ex, batch_size=3, progress=False)
    assert (rep.items_seen, rep.items_done, rep.items_skipped, rep.items_failed) == (4, 4, 0, 0)
    assert rep.points_by_type["Compatibility"] == 3
    assert rep.points_per_item_by_type["Compatibility"] == pytest.approx(0.75)
    after_first = _counts(fresh)
    ids = {r["i"] for r in fresh.query(
        "MATCH (i:Item)-[:MENTIONS]->(:Mention {type: 'Game Features', key: 'call of duty'}) RETURN i.id AS i")}
    assert ids == {"B00VU4J13W", "B00D4WTO1M"}

    rep2 = extract_items(fresh, ex, progress=False)
    assert (rep2.items_done, rep2.items_skipped) == (0, 4)
    assert _counts(fresh) == after_first

    fresh.write("MATCH (i:Item {id: 'B009CL6LA6'}) SET i.title = 'Afterglow Universal Wireless Headset - Xbox 360'")
    rep3 = extract_items(fresh, ex, progress=False)
    assert (rep3.items_done, rep3.items_skipped) == (1, 3)
    got = {r["k"] for r in fresh.query(
        "MATCH (:Item {id: 'B009CL6LA6'})-[:MENTIONS]->(m:Mention {type: 'Compatibility'}) RETURN m.key AS k")}
    assert got == {"xbox 360"}

    rep4 = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00VU4J13W"], limit=1)
    assert (rep4.items_seen, rep4.items_done) == (1, 1)
    assert _counts(fresh)["edges"] == fresh.value("MATCH ()-[r:MENTIONS]->() RETURN count(r)")


def test_some_items_are_extracted_against_the_whole_catalogue(fresh, settings, tmp_path):
    """`kgrec update` (and `--item`) extracted its items with phrase support and franchises counted among those items
    only: a Wario Land game extracted alone lost the franchise *Wario Land* (a franchise needs two works of the
    catalogue) that a full extraction gives it. The other items' contributions come from a cache by text hash, so
    the catalogue's rule pass is not repeated."""
    import dataclasses

    from kgrec_neo4j.extract.run import store_text_hashes

    wario = [ItemText(item_id="B00002SVER", title="Wario Land: Super Mario Land 3"),
             ItemText(item_id="B00005R5PS", title="Wario Land 4 - Game Boy Advance")]
    _put_items(fresh, wario)
    store_text_hashes(fresh)
    q = "MATCH (:Item {id: 'B00002SVER'})-[:MENTIONS]->(m:Mention) RETURN collect(m.type + '|' + m.key) AS k"
    warm = dataclasses.replace(settings, home=str(tmp_path / "warm"))
    extract_items(fresh, OfflineExtractor(warm, PACK, embedder=NoEmbedder()), progress=False)
    full = sorted(fresh.value(q))
    assert "Game Features|wario land" in full
    alone = OfflineExtractor(warm, PACK, embedder=NoEmbedder())
    alone.prepare(wario[:1])  # the rule before: the catalogue was the items extracted
    assert "Wario Land" not in [p.value for p in alone.extract(wario[:1])[0].points]
    others = len(ITEMS) + 1
    for home, cached, rule_pass in ((warm, others, 0), (dataclasses.replace(settings, home=str(tmp_path / "cold")),
                                                        0, others)):
        ex = OfflineExtractor(home, PACK, embedder=NoEmbedder())
        extract_items(fresh, ex, progress=False, force=True, item_ids=["B00002SVER"])
        assert sorted(fresh.value(q)) == full
        assert (ex.stats["catalogue_cached"], ex.stats["catalogue_rule_pass"]) == (cached, rule_pass)


def test_extractor_failure_and_missing_results_are_recorded(fresh, capsys):
    class Flaky:
        name = "flaky"

        def extract(self, items):
            out = []
            for it in items[1:]:  # the first item (in id order: the headset) gets no result at all
                out.append(ItemResult(item_id=it.item_id, text_hash=it.text_hash(),
                                      error="timeout: no answer in 60 s" if "Ghosts" in (it.title or "") else None,
                                      points=[KnowledgePoint(type="Others", value="seen", confidence=0.5)]))
            return out

    rep = extract_items(fresh, Flaky(), progress=False, pack=PACK)
    assert rep.items_failed == 2 and rep.items_done == 2
    assert rep.failures_by_reason == {"no result": 1, "timeout": 1}
    errs = fresh.value("MATCH (i:Item) WHERE i.extract_error IS NOT NULL RETURN count(i)")
    assert errs == 2
    # the failed ones are retried on the next run, the done ones skipped
    capsys.readouterr()
    rep2 = extract_items(fresh, Flaky(), progress=True, pack=PACK)
    assert rep2.items_skipped == 2
    # the progress bar went through the two retried items and says they failed (it read 100% and nothing else)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "2/2" in bar and "failed=2" in bar, bar


def test_items_are_written_in_the_extractors_own_batches(fresh):
    """`kgrec extract items` extracted and wrote 256 items at a time whatever the extractor: with a local LLM the bar
    read 0 done, and nothing was stored, for minutes while answers came in. An extractor's `default_batch` (the LLM
    extractor's: a few rounds of its requests in flight) is the batch when none is given."""
    class Small:
        name = "small-batches"
        default_batch = 1
        chunks: list[int] = []

        def extract(self, items):
            self.chunks.append(len(items))
            return [ItemResult(item_id=it.item_id, text_hash=it.text_hash(),
                               points=[KnowledgePoint(type="Others", value="seen", confidence=0.5)]) for it in items]

    ex = Small()
    rep = extract_items(fresh, ex, progress=False, pack=PACK)
    assert rep.items_done >= 2 and ex.chunks == [1] * rep.items_done
    ex.chunks.clear()
    extract_items(fresh, ex, progress=False, pack=PACK, force=True, batch_size=100)  # a given batch still wins
    assert ex.chunks == [rep.items_done]
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from kgrec_neo4j.extract.llm import LLMExtractor
    from kgrec_neo4j.llm.client import LLMClient

    settings = fresh.settings
    llm = LLMExtractor(settings, PACK, client=LLMClient(settings, chat_model=FakeListChatModel(responses=["{}"]),
                                                        cache=False, concurrency=2))
    assert llm.default_batch == 16  # 4 rounds of at least 4 requests
    assert LLMExtractor(settings, PACK, concurrency=8, client=llm.client).default_batch == 32


def test_cli_extract_items(fresh, monkeypatch):
    from kgrec_neo4j.cli import cli

    monkeypatch.delenv("KGREC_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    runner = CliRunner()
    res = runner.invoke(cli, ["extract", "items", "--extractor", "llm", "--silent"])
    assert res.exit_code == 1
    assert "Error: the LLM extractor needs an OpenAI-compatible endpoint" in res.output
    assert "KGREC_LLM_BASE_URL is not set" in res.output

    _offline_without_model(monkeypatch)
    res = runner.invoke(cli, ["extract", "items", "--extractor", "offline", "--silent", "--item", "B016VFPZVG"])
    assert res.exit_code == 0, res.output
    assert "items: 1 extracted, 0 skipped" in res.output
    assert "Content Additions" in res.output
    got = fresh.value("MATCH (:Item {id: 'B016VFPZVG'})-[:MENTIONS {extractor: 'offline'}]->"
                      "(m:Mention {type: 'Content Additions'}) RETURN collect(m.key)")
    assert got == ["season pass"]


def _offline_without_model(monkeypatch) -> None:
    """The CLI's offline extractor without the embedding model (its rules only)."""
    import kgrec_neo4j.extract.run as run_mod

    real = run_mod.build_extractor

    def offline_without_model(settings, name, **kw):
        ex = real(settings, name, **kw)
        ex._embedder = NoEmbedder()
        return ex

    monkeypatch.setattr(run_mod, "build_extractor", offline_without_model)


def test_cli_extract_items_names_an_unknown_item(fresh, monkeypatch):
    """`kgrec extract items --item X` with an id the graph does not have printed "items: 0 extracted, 0 skipped (already
    done), 0 failed, 0 missing" and exited 0, as if X had been extracted before; it is refused, naming the id, and
    nothing is extracted (the known items passed with it neither)."""
    from kgrec_neo4j.cli import cli

    _offline_without_model(monkeypatch)
    res = CliRunner().invoke(cli, ["extract", "items", "--extractor", "offline", "--silent",
                                   "--item", "B016VFPZVG", "--item", "NO-SUCH-ITEM"])
    assert res.exit_code == 2, res.output
    assert "unknown item(s) 'NO-SUCH-ITEM'" in res.output and "kgrec items search" in res.output
    assert fresh.value("MATCH (:Item)-[m:MENTIONS]->() RETURN count(m)") == 0


def test_reviews_come_from_training_interactions_only(fresh):
    from kgrec_neo4j.extract.run import read_items

    fresh.write(
        "MATCH (i:Item {id: 'B00D4WTO1M'}) "
        "UNWIND [['u1', 0, 'train', 'Great on PS4'], ['u1', 1, 'test', 'LEAKED test review'], "
        "        ['u2', 0, 'train', null]] AS e "
        "MERGE (u:User {id: e[0]}) CREATE (u)-[:INTERACTED {seq: e[1], split: e[2], review_text: e[3], "
        "review_title: 'title ' + e[1]}]->(i)")
    got = {it.item_id: it for it, _ in read_items(fresh, with_reviews=True)}
    assert got["B00D4WTO1M"].reviews == ["title 0. Great on PS4"]
    assert got["B009CL6LA6"].reviews == []
    assert all(it.reviews == [] for it, _ in read_items(fresh, with_reviews=False))
    fresh.write("MATCH (u:User) DETACH DELETE u")


def test_cli_extract_items_with_llm_closes_its_client(fresh, monkeypatch, tmp_path):
    """`kgrec extract items --extractor llm` left the LLM client's connection pool and event-loop thread open, so
    a successful run ended with 'ERROR asyncio: Unclosed client session' at exit."""
    import threading

    from fakes.openai_server import FakeOpenAIServer, json_reply

    from kgrec_neo4j.cli import cli

    def loops() -> int:
        return sum(t.name == "kgrec-llm-loop" and t.is_alive() for t in threading.enumerate())

    before = loops()
    answer = {"points": [{"type": "Content Additions", "value": "season pass", "confidence": 0.9,
                          "evidence": "Season Pass"}]}
    with FakeOpenAIServer(json_reply(answer)) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("KGREC_LLM_MODEL", "fake-model")
        monkeypatch.setenv("KGREC_HOME", str(tmp_path))
        res = CliRunner().invoke(cli, ["extract", "items", "--extractor", "llm", "--silent", "--item", "B016VFPZVG"])
        assert res.exit_code == 0, res.output
        assert "items: 1 extracted" in res.output and srv.calls >= 1
    assert loops() == before


def _llm_extract(monkeypatch, tmp_path, reply, **env: str):
    """`kgrec extract items --extractor llm` against a scripted endpoint answering ``reply`` (no retries, one request
    at a time): the CLI result and the requests the endpoint got."""
    from fakes.openai_server import FakeOpenAIServer

    from kgrec_neo4j.cli import cli

    for k, v in {"KGREC_LLM_MAX_RETRIES": "0", "KGREC_LLM_MODEL": "fake-model", "KGREC_LLM_CONCURRENCY": "1",
                 "KGREC_HOME": str(tmp_path), **env}.items():
        monkeypatch.setenv(k, v)
    with FakeOpenAIServer(reply) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        return CliRunner().invoke(cli, ["extract", "items", "--extractor", "llm", "--silent"]), srv.calls


def _llm_state(db) -> dict:
    """Items recorded as failed, and items done by the LLM extractor."""
    return db.query("MATCH (i:Item) RETURN count(i.extract_error) AS failed, "
                    "sum(size([h IN coalesce(i.extract_hashes, []) WHERE h STARTS WITH 'llm:'])) AS done")[0]


def test_cli_extract_items_stops_when_the_llm_endpoint_is_unreachable(fresh, monkeypatch, tmp_path):
    """`kgrec extract items --extractor llm` with its endpoint stopped went through every item's retries, recorded
    each item as failed and exited 0. It stops after a few requests in a row could not connect, with an error that
    names the fix, and writes nothing of the unfinished batch; a rerun with the server back extracts every item."""
    from fakes.openai_server import drop, json_reply

    res, calls = _llm_extract(monkeypatch, tmp_path, drop())
    assert calls == 3
    assert res.exit_code == 1, res.output
    assert "Error: the LLM endpoint" in res.output and "is unreachable" in res.output
    assert "`kgrec llm serve`" in res.output
    assert _llm_state(fresh) == {"failed": 0, "done": 0}  # nothing of the unfinished batch is recorded

    answer = {"points": [{"type": "Others", "value": "headset", "confidence": 0.9, "evidence": None}]}
    res, _ = _llm_extract(monkeypatch, tmp_path, json_reply(answer))
    assert res.exit_code == 0, res.output
    assert f"items: {len(ITEMS)} extracted, 0 skipped" in res.output


def test_cli_extract_items_stops_when_the_llm_endpoint_never_answers(fresh, monkeypatch, tmp_path):
    """A stuck server (it accepts the request, never answers) cost every item the timeout times its attempts, and
    the command exited 0 with every item failed. It stops after a few timeouts in a row, naming the timeout setting,
    and records nothing of the unfinished batch."""
    from fakes.openai_server import json_reply, slow

    res, calls = _llm_extract(monkeypatch, tmp_path, slow(2.0, json_reply({"points": []})), KGREC_LLM_TIMEOUT="0.3")
    assert calls == 3
    assert res.exit_code == 1, res.output
    assert "Error: the LLM endpoint" in res.output and "does not answer in time" in res.output
    assert "KGREC_LLM_TIMEOUT, now 0.3 s" in res.output
    assert _llm_state(fresh) == {"failed": 0, "done": 0}  # nothing of the unfinished batch is recorded


def test_cli_extract_items_stops_when_the_llm_endpoint_refuses_the_key(fresh, monkeypatch, tmp_path):
    """With a wrong API key, `kgrec extract items --extractor llm --item X` recorded the item as failed
    (`http_error: HTTP 401`), printed `failures: http_error: 1` and exited 0. It stops with an error that names the
    endpoint and OPENAI_API_KEY, and records nothing on the item."""
    from fakes.openai_server import FakeOpenAIServer, server_error

    from kgrec_neo4j.cli import cli

    monkeypatch.setenv("KGREC_LLM_MODEL", "fake-model")
    monkeypatch.setenv("KGREC_HOME", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-do-not-print")
    with FakeOpenAIServer(server_error(401)) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        res = CliRunner().invoke(cli, ["extract", "items", "--extractor", "llm", "--silent", "--item", "B016VFPZVG"])
    assert res.exit_code == 1, res.output
    assert f"Error: the LLM endpoint {srv.base_url} refused the request" in res.output
    assert "HTTP 401" in res.output and "OPENAI_API_KEY" in res.output
    assert "sk-wrong-key-do-not-print" not in res.output
    assert fresh.value("MATCH (i:Item {id: 'B016VFPZVG'}) RETURN i.extract_error") is None


def test_cli_extract_items_warns_of_a_model_the_endpoint_does_not_serve(fresh, monkeypatch, tmp_path):
    """A KGREC_LLM_MODEL the server does not serve was used without a word (llama.cpp answers with its own model),
    its answers cached and the items marked done under the wrong name; only `kgrec doctor` said so. The command
    warns, naming the served models, and goes on."""
    from fakes.openai_server import FakeOpenAIServer, json_reply

    from kgrec_neo4j.cli import cli

    monkeypatch.setenv("KGREC_HOME", str(tmp_path))
    answer = {"points": [{"type": "Others", "value": "headset", "confidence": 0.9, "evidence": None}]}
    with FakeOpenAIServer(json_reply(answer), model="served-model") as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        for model, warned in (("gpt-nonexistent", True), ("served-model", False)):
            monkeypatch.setenv("KGREC_LLM_MODEL", model)
            res = CliRunner().invoke(cli, ["extract", "items", "--extractor", "llm", "--silent", "--item", "B016VFPZVG"])
            assert res.exit_code == 0, res.output
            said = "warning: KGREC_LLM_MODEL is 'gpt-nonexistent', which the endpoint does not serve (it serves " \
                   "'served-model')"
            assert (said in res.stderr) is warned, res.stderr


def test_cli_extract_items_names_the_failed_items_and_their_reason(fresh, monkeypatch, tmp_path):
    """An item whose answer was garbage was counted (`failures: invalid_json: 1`) but not named: the summary gave no
    id and `kgrec items show` no reason. The summary names the failed items with their reason.

    Such a run exited 0, so `kgrec extract items && kgrec concepts build` went on with the hole. It exits 4 after the
    whole summary, its last line saying how many failed and how to retry; the other item is written."""
    from fakes.openai_server import FakeOpenAIServer, json_reply, ok

    from kgrec_neo4j.cli import cli

    monkeypatch.setenv("KGREC_LLM_MODEL", "fake-model")
    monkeypatch.setenv("KGREC_HOME", str(tmp_path))
    answer = {"points": [{"type": "Others", "value": "headset", "confidence": 0.9, "evidence": None}]}
    args = ["extract", "items", "--extractor", "llm", "--silent", "--item", "B016VFPZVG", "--item", "B009CL6LA6"]
    with FakeOpenAIServer(json_reply(answer)) as srv:
        srv.script(ok("lorem ipsum {not json"), ok("lorem ipsum {not json"), match="Afterglow")
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 4, res.output
        assert "items: 1 extracted, 0 skipped (already done), 1 failed" in res.output
        line = next(x for x in res.output.splitlines() if x.startswith("failed items"))
        assert "B009CL6LA6: invalid_json" in line and "B016VFPZVG" not in line, line
        assert res.stderr.strip().splitlines()[-1] == (
            "Error: 1 item failed (named above, each keeps its reason in Item.extract_error); everything else was "
            "written. Run the same command again to retry them, or pass --allow-failures to accept them (exit code 0)")
        assert _llm_state(fresh) == {"failed": 1, "done": 1}

        # accepted: exit 0, the same summary and last line, saying so
        srv.script(ok("lorem ipsum {not json"), ok("lorem ipsum {not json"), match="Afterglow")
        res = CliRunner().invoke(cli, [*args, "--allow-failures"])
        assert res.exit_code == 0, res.output
        assert "items: 0 extracted, 1 skipped (already done), 1 failed" in res.output
        assert res.stderr.strip().splitlines()[-1].endswith("Run the same command again to retry them "
                                                             "(exit code 0: --allow-failures)"), res.stderr

        # the same command again retries the failed item: all done, exit 0, no failure line
        res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "items: 1 extracted, 1 skipped (already done), 0 failed" in res.output and not res.stderr, res.output
    assert _llm_state(fresh) == {"failed": 0, "done": 2}


def test_a_failed_items_reason_hides_the_api_key_the_server_echoed(fresh, monkeypatch, tmp_path):
    """A server that refuses one request (HTTP 400) with the key it got in its message ("... key sk-…") had the key
    kept in Item.extract_error and printed on the failed-items line: only the URL's secrets were hidden, and only when
    printed. The reason is kept and printed with the key hidden, and the length bounded."""
    from fakes.openai_server import FakeOpenAIServer, Reply, json_reply

    from kgrec_neo4j.cli import cli

    key = "sk-test-0123456789abcdef"
    for k, v in {"KGREC_LLM_MODEL": "fake-model", "KGREC_HOME": str(tmp_path), "OPENAI_API_KEY": key,
                 "KGREC_LLM_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(k, v)
    answer = {"points": [{"type": "Others", "value": "headset", "confidence": 0.9, "evidence": None}]}
    args = ["extract", "items", "--extractor", "llm", "--silent", "--item", "B016VFPZVG", "--item", "B009CL6LA6",
            "--force"]
    with FakeOpenAIServer(json_reply(answer)) as srv:
        srv.script(*[Reply("status", status=400, content=f"bad request (key {key}) " + "x" * 5000)] * 2,
                   match="Afterglow")
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        res = CliRunner().invoke(cli, args)
    assert res.exit_code == 4, res.output
    line = next(x for x in res.output.splitlines() if x.startswith("failed items"))
    assert "B009CL6LA6: http_error: HTTP 400: bad request (key ***)" in line and key not in res.output, line
    error = fresh.value("MATCH (i:Item {id: 'B009CL6LA6'}) RETURN i.extract_error")
    assert error.startswith("http_error: HTTP 400: bad request (key ***)") and key not in error
    assert len(error) <= 2000


class SameVector:
    """Every text the same vector: every candidate phrase is typed (similarity 1), so a phrase's support alone
    decides whether it becomes a point."""

    dim = 8

    def encode(self, texts):
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)


def test_support_is_counted_within_the_items_dataset(db, settings, tmp_path):
    """After a second dataset was loaded, `kgrec extract items --force` gave the first dataset's items other points
    (a phrase or a franchise counted over both datasets' items). An item gets the points it gets with its dataset
    alone, in a full extraction and in one of some items (`kgrec update`, `--item`)."""
    import dataclasses

    from _kg_fixture import write_dataset

    from kgrec_neo4j import load as L

    def dataset(name, items):
        rows = [{"item_id": i, "title": t, "description": [d]} for i, t, d in items]
        return write_dataset(tmp_path / name, rows, [{"user_id": f"{name}-u", "item_id": i, "seq": n}
                                                     for n, (i, _, _) in enumerate(items)])

    a = dataset("a", [("a1", "Wario Land: Super Mario Land 3", "Comes in a crimson velvet pouch"),
                      ("a2", "Afterglow Universal Wireless Headset - Blue", "Plays quietly")])
    b = dataset("b", [("b1", "Wario Land 4 - Game Boy Advance", "Comes in a crimson velvet pouch")])
    home = dataclasses.replace(settings, home=str(tmp_path / "home"))

    def points(**kw) -> dict[str, list[str]]:
        extract_items(db, OfflineExtractor(home, PACK, embedder=SameVector()), progress=False, force=True, **kw)
        return {r["i"]: r["k"] for r in db.query(
            "MATCH (i:Item) OPTIONAL MATCH (i)-[:MENTIONS]->(m:Mention) WITH i, m ORDER BY m.type, m.key "
            "RETURN i.id AS i, collect(m.type + '|' + m.key) AS k")}

    db.write("MATCH (n) WHERE n:Item OR n:Mention OR n:User OR n:Dataset DETACH DELETE n")
    L.load(db, [a])
    alone = points()
    assert "Game Features|wario land" not in alone["a1"]  # one work of the franchise in dataset a
    assert not any("velvet pouch" in k for k in alone["a1"])  # a phrase of one item of dataset a
    L.load(db, [b])
    both = points()
    assert {i: both[i] for i in alone} == alone
    assert "Game Features|wario land" not in both["b1"]
    assert points(item_ids=["a1", "b1"]) == both


def test_a_failed_reextraction_is_not_counted_as_an_item_without_points(fresh):
    """A failed item keeps what its earlier extraction stored (`extracted_by` too): one whose earlier extraction found
    no point was counted among the extracted items "without points" of the run that failed it."""

    class Script:
        name = "offline"

        def __init__(self, fail: set[str]):
            self.fail = fail

        def extract(self, items):
            return [ItemResult(item_id=it.item_id, text_hash=it.text_hash(),
                               error="timeout: no answer" if it.item_id in self.fail else None,
                               points=[] if it.item_id == "B009CL6LA6" else [_pt("Others", "seen")])
                    for it in items]

    ids = ["B009CL6LA6", "B00D4WTO1M"]
    first = extract_items(fresh, Script(set()), progress=False, pack=PACK, item_ids=ids)
    assert (first.items_done, first.items_without_points) == (2, 1)  # the headset: no point
    again = extract_items(fresh, Script({"B009CL6LA6"}), progress=False, pack=PACK, item_ids=ids, force=True)
    assert (again.items_done, again.items_failed, again.items_without_points) == (1, 1, 0)


def test_a_failed_item_whose_text_changed_since_is_new_work_for_the_update(fresh):
    """`kgrec update` counts an item whose extraction failed as a retry, not as new work (an endpoint that failed it
    would fail it again). One whose text changed after the failure was skipped the same way, and an update with
    nothing else to do said "nothing to do" although the item's new text was never tried."""
    from kgrec_neo4j.update import _items_to_extract

    item = ITEMS[1]
    write_results(fresh, [ItemResult(item_id=item.item_id, text_hash=item.text_hash(), error="LLMError: timeout")],
                  extractor="llm", run="r1", pack=PACK)
    every, new = _items_to_extract(fresh, "llm")
    assert item.item_id in every and item.item_id not in new  # its text as it failed: a retry, not new work
    fresh.write("MATCH (i:Item {id: $i}) SET i.current_text_hash = 'a-newer-text'", i=item.item_id)
    every, new = _items_to_extract(fresh, "llm")
    assert item.item_id in every and item.item_id in new  # a text changed since the failure: new work
    ok = ItemResult(item_id=item.item_id, text_hash="a-newer-text", points=[_pt("Others", "season pass")])
    write_results(fresh, [ok], extractor="llm", run="r2", pack=PACK)
    assert fresh.query("MATCH (i:Item {id: $i}) RETURN i.extract_error AS e, i.extract_failed_hash AS h",
                       i=item.item_id)[0] == {"e": None, "h": None}
    assert item.item_id not in _items_to_extract(fresh, "llm")[0]


def test_an_item_extracted_again_keeps_no_knowledge_its_new_mentions_do_not_support(fresh, settings):
    """`kgrec extract items --force` after the concept stage: the HAS_KNOWLEDGE edges of values the item lost went on
    pointing at their concepts (a knowledge audit found 187 such edges on 190 items), and `kgrec update` afterwards
    recomputed nothing for them, nor the interests of their users."""
    write_results(fresh, _results(), extractor="offline", run="r1", pack=PACK)
    fresh.write("MATCH (m:Mention) MERGE (c:Concept {id: 'k-' + m.key, type: m.type}) SET c.name = m.text "
                "MERGE (m)-[:CANONICAL {similarity: 1.0}]->(c) "
                "WITH m, c MATCH (i:Item)-[:MENTIONS]->(m) MERGE (i)-[:HAS_KNOWLEDGE {confidence: 0.9}]->(c)")
    # a value the item had before and does not have now (its mention went with the extraction before this one)
    fresh.write("MATCH (i:Item {id: 'B00VU4J13W'}) MERGE (c:Concept {id: 'k-stale', type: 'Others'}) "
                "MERGE (i)-[:HAS_KNOWLEDGE {confidence: 0.9}]->(c)")
    fresh.write("MERGE (u:User {id: 'fan'}) SET u.ingest = 0 WITH u MATCH (i:Item {id: 'B00VU4J13W'}) "
                "MERGE (u)-[:INTERACTED {seq: 0, split: 'train'}]->(i)")
    ex = OfflineExtractor(settings, PACK, embedder=NoEmbedder())
    ingest = fresh.value("MATCH (s:UpdateState {id: 'graph'}) RETURN coalesce(s.ingest, 0)") or 0
    try:
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00VU4J13W"])
        knows = {r["k"] for r in fresh.query("MATCH (:Item {id: 'B00VU4J13W'})-[:HAS_KNOWLEDGE]->(c) RETURN c.id AS k")}
        mentions = {r["k"] for r in fresh.query(
            "MATCH (:Item {id: 'B00VU4J13W'})-[:MENTIONS]->(:Mention)-[:CANONICAL]->(c) RETURN c.id AS k")}
        assert knows == mentions, (knows, mentions)  # every edge follows a mention that has its concept
        assert "k-stale" not in knows and "k-call of duty" in knows
        assert rep.knowledge_recomputed == 1 and rep.users_stamped == 1
        assert fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest") > ingest  # `kgrec update` takes them up
        # an item without knowledge yet whose new mentions have concepts already gets it (a review: nothing else
        # would place it, since the mentions need no placing)
        fresh.write("MATCH (:Item {id: 'B00D4WTO1M'})-[h:HAS_KNOWLEDGE]->() DELETE h")
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00D4WTO1M"])
        assert rep.knowledge_recomputed == 1
        assert fresh.value("MATCH (:Item {id: 'B00D4WTO1M'})-[h:HAS_KNOWLEDGE]->() RETURN count(h)") > 0
        # the update's own extraction leaves both to its steps: a stale edge stays, no user is stamped
        fresh.write("MATCH (i:Item {id: 'B00VU4J13W'}), (c:Concept {id: 'k-stale'}) "
                    "MERGE (i)-[:HAS_KNOWLEDGE {confidence: 0.9}]->(c)")
        stamp = fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest")
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00VU4J13W"], knowledge=False)
        assert rep.knowledge_recomputed == 0 and rep.users_stamped == 0
        assert fresh.value("MATCH (:Item {id: 'B00VU4J13W'})-[:HAS_KNOWLEDGE]->(c:Concept {id: 'k-stale'}) "
                           "RETURN count(c)") == 1
        assert fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest") == stamp
        # a user of items in two batches is one user stamped (the count said 2,185 users of a 501-user graph)
        fresh.write("MATCH (u:User {id: 'fan'}), (i:Item {id: 'B00D4WTO1M'}) "
                    "MERGE (u)-[:INTERACTED {seq: 1, split: 'train'}]->(i)")
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00VU4J13W", "B00D4WTO1M"],
                            batch_size=1)
        assert rep.knowledge_recomputed == 2 and rep.users_stamped == 1
        # knowledge that comes out the same stamps nobody: the next update has no interest to compute again (every
        # value placed: a concept, or pending as the projection leaves the ones it cannot place)
        fresh.write("MATCH (m:Mention) WHERE NOT EXISTS { (m)-[:CANONICAL]->() } SET m.pending = true")
        stamp = fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest")
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00VU4J13W", "B00D4WTO1M"])
        assert rep.knowledge_recomputed == 2 and rep.users_stamped == 0
        assert fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest") == stamp
        # ... unless the item mentions a value never placed on the vocabulary: the next update places it, and the
        # item's knowledge may change then
        fresh.write("MATCH (:Item {id: 'B00VU4J13W'})-[:MENTIONS]->(m:Mention)-[c:CANONICAL]->() "
                    "WITH m, c LIMIT 1 DELETE c")
        from kgrec_neo4j.core.resources import cypher

        fresh.write(cypher("concepts/item_knowledge"), ids=["B00VU4J13W"], min_confidence=settings.min_confidence)
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00VU4J13W", "B00D4WTO1M"])
        assert rep.knowledge_recomputed == 2 and rep.users_stamped == 1
        assert fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest") > stamp
        # an item without any knowledge yet that mentions a value never placed, of a type with concepts: the next
        # update places it and gives the item knowledge; its users are stamped now (nothing else would stamp them)
        fresh.write("MATCH (:Item {id: 'B00D4WTO1M'})-[h:HAS_KNOWLEDGE]->() DELETE h")
        fresh.write("MATCH (:Item {id: 'B00D4WTO1M'})-[:MENTIONS]->(m:Mention) OPTIONAL MATCH (m)-[c:CANONICAL]->() "
                    "DELETE c REMOVE m.pending")
        stamp = fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest")
        rep = extract_items(fresh, ex, progress=False, force=True, item_ids=["B00D4WTO1M"])
        assert rep.knowledge_recomputed == 0 and rep.users_stamped == 1
        assert fresh.value("MATCH (u:User {id: 'fan'}) RETURN u.ingest") > stamp
    finally:
        fresh.write("MATCH (n) WHERE n:Concept OR n:User DETACH DELETE n")
