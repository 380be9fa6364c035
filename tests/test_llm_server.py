"""End to end with the bundled llama.cpp server (SmolLM2-135M-Instruct) over real HTTP, and the
``kgrec llm`` commands. The model is tiny: these tests check plumbing and validation, not quality."""

from __future__ import annotations

import gzip
import json
import re

import click
import pytest
from click.testing import CliRunner

from kgrec_neo4j.cli.llm import llm as llm_group
from kgrec_neo4j.core.config import load_settings
from kgrec_neo4j.core.schema import load_pack
from kgrec_neo4j.extract.base import MAX_VALUE_WORDS, ItemText
from kgrec_neo4j.extract.llm import LLMExtractor
from kgrec_neo4j.llm import OUTPUT_REASONS, TRANSPORT_REASONS
from kgrec_neo4j.llm.endpoint import list_models
from kgrec_neo4j.local import llm_server as server

pytestmark = [pytest.mark.llm, pytest.mark.timeout(400)]

PACK_NAME = "office_products"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("llm-home")


@pytest.fixture(scope="module")
def bundled(home):
    settings = load_settings({"home": str(home), "type_pack": PACK_NAME}, environ={})
    info = server.start(server.llm_home(settings), port=0, wait_s=120)
    yield settings, info
    server.stop(server.llm_home(settings))


def cli(settings):
    @click.group()
    @click.pass_context
    def root(ctx):
        ctx.obj = {"settings": settings}

    root.add_command(llm_group)
    return root


def office_items(data_dir, n: int) -> list[ItemText]:
    out = []
    with gzip.open(data_dir / "amazon-office-2018" / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("title"):
                out.append(ItemText(**row))
            if len(out) == n:
                break
    return out


def test_server_listens_on_loopback_and_lists_the_model(bundled):
    settings, info = bundled
    assert info.base_url.startswith("http://127.0.0.1:") and info.healthy
    assert list_models(info.base_url) == [info.model]
    st = server.status(server.llm_home(settings))
    assert st is not None and st.healthy and st.pid == info.pid
    assert (settings.home_path / "llm" / "server.pid").read_text() == str(info.pid)
    # idempotent: a second serve returns the running one
    assert server.start(server.llm_home(settings)).pid == info.pid


def test_extract_real_items_over_http(bundled, data_dir):
    settings, info = bundled
    s = load_settings({"home": settings.home, "llm_base_url": info.base_url, "llm_model": info.model}, environ={})
    pack = load_pack(PACK_NAME)
    items = office_items(data_dir, 3)
    with LLMExtractor(s, pack, max_points=3, concurrency=1, max_tokens=256, max_output_retries=0,
                      timeout_s=150, max_retries=1) as ex:
        results = ex.extract(items)
        stats = ex.stats
    assert [r.item_id for r in results] == [it.item_id for it in items]
    assert stats.llm.calls >= 3 and stats.llm.prompt_tokens > 0 and stats.llm.completion_tokens > 0
    for r in results:
        if r.error:  # a failure carries a known reason and no points
            assert r.error.split(":")[0] in OUTPUT_REASONS | TRANSPORT_REASONS and r.points == []
            continue
        assert len(r.points) <= 3
        for pt in r.points:
            assert pt.type in pack.names and 0 <= pt.confidence <= 1
            assert 0 < len(pt.value.split()) <= MAX_VALUE_WORDS
    assert stats.succeeded >= 1, [r.error for r in results]

    # the same run again is answered from the on-disk cache: zero calls
    with LLMExtractor(s, pack, max_points=3, concurrency=1, max_tokens=256, max_output_retries=0) as ex2:
        again = ex2.extract(items)
        assert ex2.stats.llm.calls == 0 and ex2.stats.llm.cache_hits == stats.succeeded
    assert [r.points for r in again if not r.error] == [r.points for r in results if not r.error]


def test_cli_serve_status_test_stop(bundled):
    settings, info = bundled
    runner = CliRunner()
    root = cli(settings)

    r = runner.invoke(root, ["llm", "serve", "--port", "0"])
    assert r.exit_code == 0, r.output
    assert f"pid {info.pid}" in r.output and f"export KGREC_LLM_BASE_URL={info.base_url}" in r.output

    r = runner.invoke(root, ["llm", "status", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["bundled_server"]["healthy"] is True and report["configured_endpoint"]["base_url"] is None

    r = runner.invoke(root, ["llm", "status", "--exports"])
    assert r.exit_code == 0 and f"KGREC_LLM_MODEL={info.model}" in r.output
    assert "KGREC_LLM_CONCURRENCY=1" in r.output  # the slots the running server decodes at once
    # another --parallel while it runs is refused (it answered the running server's pid and printed the new number)
    r = runner.invoke(root, ["llm", "serve", "--port", "0", "--parallel", "3"])
    said = r.output + str(r.exception)  # (this test's group is a plain click group: the error is the exception)
    assert r.exit_code != 0 and "already running" in said and "kgrec llm stop" in said, said
    r = runner.invoke(root, ["llm", "serve", "--port", "0"])  # without --parallel: the running one, as it is
    assert r.exit_code == 0 and f"pid {info.pid}" in r.output and "KGREC_LLM_CONCURRENCY=1" in r.output, r.output

    r = runner.invoke(root, ["llm", "test", "Avery ink jet address labels, white, 750 labels", "--max-points", "3",
                             "--timeout", "150"])
    assert "response format json_schema" in r.output, r.output
    if r.exit_code == 0:
        answer = json.loads(r.output[r.output.index("{"):])
        assert all(pt["type"] in load_pack(PACK_NAME).names for pt in answer["points"])
    else:  # the tiny model may fail; then the reason is shown
        assert re.search(r"Error: the request failed: (truncated|invalid_json|schema_violation)", r.output)

    r = runner.invoke(root, ["llm", "stop"])
    assert r.exit_code == 0 and "stopped" in r.output
    assert server.status(server.llm_home(settings)) is None
    r = runner.invoke(root, ["llm", "status"])
    assert "not started from this home folder" in r.output
    r = runner.invoke(root, ["llm", "stop"])
    assert "No LLM server was running" in r.output


def test_cli_test_without_endpoint_says_how_to_fix(tmp_path):
    settings = load_settings({"home": str(tmp_path)}, environ={})
    r = CliRunner().invoke(cli(settings), ["llm", "test"])
    assert r.exit_code != 0
    assert "KGREC_LLM_BASE_URL" in str(r.exception) + r.output


def test_merge_judge_bench_asks_the_server_for_each_pair(bundled, tmp_path):
    from _bench import load_bench

    settings, _ = bundled
    info = server.start(server.llm_home(settings), port=0, wait_s=120)  # a test above stops it (`kgrec llm stop`)
    judge = load_bench("concepts_merge_judge")
    pairs = [json.loads(line) for line in open(judge.PAIRS, encoding="utf-8") if line.strip()]
    labelled = [p for p in pairs if p["label"] in ("merge", "apart")][:4]
    # the stage's decision: right on every pair but the first (listed as an error)
    decisions = tmp_path / "merge.json"
    decisions.write_text(json.dumps({"errors_new": [{"a": labelled[0]["a"], "b": labelled[0]["b"]}]}))
    out = judge.main(["--decisions", str(decisions), "--base-url", info.base_url, "--model", info.model,
                      "--limit", "4", "--json", str(tmp_path / "out.json")])
    assert out["pairs"] == 4 and out["unparsed"] == 0  # the JSON schema holds over real HTTP
    s = out["stage"]
    wrong_first = labelled[0]["label"] == "merge"  # a missed merge is a false negative, else a false positive
    assert (s["fn"], s["fp"]) == ((1, 0) if wrong_first else (0, 1))
    answers = json.loads((tmp_path / "out.json").read_text())["answers"]
    assert [a["a"] for a in answers] == [p["a"] for p in labelled] and all(isinstance(a["judge"], bool) for a in answers)
    said = [a["judge"] for a in answers]  # the judge's scores are its own answers against the labels
    assert out["judge"]["tp"] == sum(j and p["label"] == "merge" for j, p in zip(said, labelled))
    assert out["judge"]["fp"] == sum(j and p["label"] == "apart" for j, p in zip(said, labelled))
