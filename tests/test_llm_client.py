"""The generic LLM client over real HTTP against the scriptable fake OpenAI server: every fault is
retried or recorded with its reason, accounting is exact, the cache makes reruns free."""

from __future__ import annotations

import json
import time

import pytest
from fakes.openai_server import (
    FakeOpenAIServer,
    Reply,
    drop,
    endless,
    huge,
    json_reply,
    ok,
    rate_limited,
    server_error,
    slow,
    truncated_body,
    truncated_json,
)
from pydantic import BaseModel, ConfigDict

from kgrec_neo4j.core.config import load_settings
from kgrec_neo4j.llm import LLMCache, LLMClient, StructuredRequest


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str


GOOD = json_reply({"answer": "ok"})


@pytest.fixture()
def server():
    with FakeOpenAIServer(GOOD) as srv:
        yield srv


def make_client(srv: FakeOpenAIServer, tmp_path, **kw) -> LLMClient:
    settings = load_settings({"llm_base_url": srv.base_url, "llm_model": "fake-model", "home": str(tmp_path)},
                             environ={})
    opts = dict(cache=False, timeout_s=1.0, max_retries=3, concurrency=4)
    opts.update(kw)
    return LLMClient(settings, **opts)


def req(key: str, text: str | None = None) -> StructuredRequest:
    return StructuredRequest(key, [{"role": "system", "content": "Answer in JSON."},
                                   {"role": "user", "content": text or f"question {key}"}], Answer,
                             prompt_version="t1")


def run_one(client: LLMClient, key: str = "q"):
    [r] = client.run_structured([req(key)])
    return r


def test_request_carries_messages_schema_and_limits(server, tmp_path):
    with make_client(server, tmp_path, max_tokens=77) as client:
        r = run_one(client)
    assert r.ok and r.value == Answer(answer="ok") and r.attempts == 1 and not r.cached
    [body] = server.requests
    assert body["model"] == "fake-model"
    assert body["messages"] == [{"role": "system", "content": "Answer in JSON."},
                                {"role": "user", "content": "question q"}]
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["name"] == "Answer"
    assert rf["json_schema"]["schema"]["required"] == ["answer"]
    assert body["max_completion_tokens"] == 77 and body["temperature"] == 0.0


@pytest.mark.parametrize("fault, reason", [
    (server_error(500), "server_error"),
    (server_error(503), "server_error"),
    (rate_limited(0.3), "rate_limited"),
    (slow(3.0, GOOD), "timeout"),
    (drop(), "connection"),
    (truncated_body(), "connection"),
    (endless(), "timeout"),
    (truncated_json({"answer": "ok"}), "invalid_json"),
    (truncated_json({"answer": "ok"}, finish_reason="length"), "truncated"),
    (json_reply({"answer": "ok", "extra": 1}), "schema_violation"),
    (json_reply({"wrong": "field"}), "schema_violation"),
    (ok(""), "empty_answer"),
    (huge(200_000), "truncated"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_each_fault_is_retried_then_succeeds(server, tmp_path, fault: Reply, reason: str):
    server.script(fault)
    with make_client(server, tmp_path) as client:
        t = time.perf_counter()
        r = run_one(client)
        elapsed = time.perf_counter() - t
        stats = client.last_stats
    assert r.ok, r.error
    assert r.attempts == 2 and server.calls == 2
    assert stats.retries == {reason: 1} and stats.failures == {} and stats.calls == 2
    if reason == "rate_limited":
        assert elapsed >= 0.3  # Retry-After honoured
    if reason == "timeout":
        assert elapsed < 2.9  # the slow answer was not waited for


@pytest.mark.parametrize("fault, reason, attempts", [
    (server_error(500), "server_error", 4),          # 1 + max_retries
    (drop(), "connection", 4),
    (json_reply({"wrong": 1}), "schema_violation", 2),  # 1 + max_output_retries
    (truncated_json({"answer": "x"}, finish_reason="length"), "truncated", 2),
    (server_error(404), "http_error", 1),              # not retried
    (server_error(401), "http_error", 1),
], ids=lambda x: x if isinstance(x, str) else None)
def test_persistent_faults_fail_with_their_reason(tmp_path, fault: Reply, reason: str, attempts: int):
    with FakeOpenAIServer(fault) as srv, make_client(srv, tmp_path) as client:
        ok_req, bad_req = req("fine", "fine"), req("bad")
        srv.script(GOOD, match="fine")
        good, bad = client.run_structured([ok_req, bad_req])
        stats = client.last_stats
    assert good.ok
    assert bad.value is None and bad.reason == reason and bad.error.startswith(reason + ": ")
    assert bad.attempts == attempts
    assert stats.failures == {reason: 1} and stats.failed == 1 and stats.succeeded == 1
    assert stats.calls == attempts + 1
    if reason == "http_error":
        assert "HTTP 4" in bad.error


def test_tokens_and_calls_are_accounted(server, tmp_path):
    server.script(server_error(500), match="question a")
    server.script(json_reply({"nope": 1}), match="question b")
    with make_client(server, tmp_path) as client:
        rs = client.run_structured([req("a"), req("b"), req("c")])
        s = client.last_stats
    assert all(r.ok for r in rs)
    assert s.requests == 3 and s.calls == 5 and s.succeeded == 3 and s.failed == 0
    # the fake reports 20 prompt + 10 completion tokens for every answered call (the 500 has none)
    assert (s.prompt_tokens, s.completion_tokens) == (4 * 20, 4 * 10)
    assert rs[1].usage.prompt_tokens == 40 and rs[0].usage.prompt_tokens == 20
    assert s.retries == {"server_error": 1, "schema_violation": 1}
    assert s.seconds > 0 and s.requests_per_s > 0


def test_cache_rerun_makes_zero_calls_and_failures_are_not_cached(server, tmp_path):
    cache = LLMCache(tmp_path / "llm.sqlite")
    server.script(server_error(400), match="question bad")
    with make_client(server, tmp_path, cache=cache) as client:
        first = client.run_structured([req(str(i)) for i in range(10)] + [req("bad")])
        assert server.calls == 11 and sum(r.ok for r in first) == 10
        calls_before = server.calls
        second = client.run_structured([req(str(i)) for i in range(10)])
        assert server.calls == calls_before  # zero calls
        assert client.last_stats.calls == 0 and client.last_stats.cache_hits == 10
        assert all(r.cached and r.value == Answer(answer="ok") and r.usage.prompt_tokens == 0 for r in second)
        third = client.run_structured([req("bad")])  # the failure was not cached: asked again
        assert server.calls == calls_before + 1 and third[0].ok
    assert len(cache) == 11
    cache.close()


def test_cache_key_changes_with_model_and_messages(server, tmp_path):
    cache = LLMCache(tmp_path / "llm.sqlite")
    with make_client(server, tmp_path, cache=cache) as client:
        client.run_structured([req("a")])
        client.run_structured([req("a", "a different question")])
        assert client.last_stats.calls == 1
    settings = load_settings({"llm_base_url": server.base_url, "llm_model": "other-model",
                              "home": str(tmp_path)}, environ={})
    with LLMClient(settings, cache=cache) as other:
        other.run_structured([req("a")])
        assert other.last_stats.calls == 1 and other.last_stats.cache_hits == 0
    cache.close()


def test_auto_falls_back_to_json_object_when_json_schema_is_refused(tmp_path):
    def responder(body: dict) -> Reply:
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return Reply("status", status=400, content="response_format type json_schema is not supported")
        return GOOD

    with FakeOpenAIServer(responder) as srv, make_client(srv, tmp_path) as client:
        rs = client.run_structured([req(str(i)) for i in range(3)])
        assert all(r.ok for r in rs)
        assert client.response_format == "json_object" and client.last_stats.response_format == "json_object"
        last = srv.requests[-1]
        assert last["response_format"] == {"type": "json_object"}
        assert '"answer"' in last["messages"][0]["content"]  # the schema moved into the system message
        assert client.last_stats.failures == {}


def test_json_schema_mode_does_not_fall_back(tmp_path):
    refuse = Reply("status", status=400, content="response_format type json_schema is not supported")
    with FakeOpenAIServer(refuse) as srv, make_client(srv, tmp_path, response_format="json_schema") as client:
        r = run_one(client)
    assert r.reason == "http_error" and "json_schema is not supported" in r.error


def test_concurrency_bounds_requests_in_flight(tmp_path):
    with FakeOpenAIServer(slow(0.15, GOOD)) as srv, make_client(srv, tmp_path, concurrency=3) as client:
        t = time.perf_counter()
        rs = client.run_structured([req(str(i)) for i in range(12)])
        elapsed = time.perf_counter() - t
    assert all(r.ok for r in rs)
    assert srv.max_in_flight == 3
    assert elapsed >= 4 * 0.15  # 12 requests, 3 at a time


def test_results_keep_request_order(server, tmp_path):
    server.script(slow(0.3, json_reply({"answer": "slow"})), match="question 0")
    with make_client(server, tmp_path) as client:
        rs = client.run_structured([req(str(i)) for i in range(6)])
    assert [r.key for r in rs] == [str(i) for i in range(6)]
    assert rs[0].value.answer == "slow"


def test_unreachable_server_is_a_connection_failure(tmp_path):
    with FakeOpenAIServer() as srv:
        url = srv.base_url
    settings = load_settings({"llm_base_url": url, "home": str(tmp_path)}, environ={})
    with LLMClient(settings, cache=False, max_retries=1, give_up_after=0) as client:  # 0: never stops the run
        r = run_one(client)
    assert r.reason == "connection" and r.attempts == 2


def test_an_endpoint_url_with_a_user_is_refused_naming_the_fix_not_the_password(tmp_path):
    """``http://user:pw@host/v1`` failed every request with the HTTP layer's "Cannot combine AUTHORIZATION header
    with ... credentials encoded in URL" (the API key goes in a header); it is refused up front, naming the fix."""
    from kgrec_neo4j.core.errors import ConfigError

    settings = load_settings({"llm_base_url": "http://bob:pw-Zq81x@127.0.0.1:9/v1", "home": str(tmp_path)},
                             environ={})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as e:
        LLMClient(settings, cache=False)
    assert "pw-Zq81x" not in str(e.value) and "bob:***@127.0.0.1:9" in str(e.value)


def test_raw_answer_is_kept_for_diagnosis(tmp_path):
    with FakeOpenAIServer(ok("not json at all")) as srv, make_client(srv, tmp_path, max_output_retries=0) as c:
        r = run_one(c)
    assert r.reason == "invalid_json" and r.raw == "not json at all"
    assert json.loads(json.dumps(r.error))  # a plain string


def test_ok_status_without_a_completion_is_a_bad_response(server, tmp_path):
    server.script(Reply("status", status=200, content="this is not a completion"))
    with make_client(server, tmp_path) as client:
        r = run_one(client)
        assert r.ok and client.last_stats.retries == {"bad_response": 1}


def test_deeply_nested_answer_fails_alone(tmp_path):
    """``[[[…]]]`` nested past the JSON decoder's recursion limit is an invalid answer of one request, not an
    exception out of the run."""
    nested = "[" * 100_000 + "]" * 100_000
    with FakeOpenAIServer(GOOD) as srv, make_client(srv, tmp_path, max_output_retries=1) as client:
        srv.script(ok(nested), ok(nested), match="deep")
        deep, fine = client.run_structured([req("deep", "deep"), req("fine")])
        stats = client.last_stats
    assert fine.ok
    assert deep.value is None and deep.reason == "invalid_json" and deep.attempts == 2
    assert "nested too deeply" in deep.error
    assert stats.failures == {"invalid_json": 1} and stats.retries == {"invalid_json": 1}


def test_non_json_body_with_ok_status_is_a_bad_response(server, tmp_path):
    server.script(Reply("raw", status=200, content="<html>gateway says hello</html>"))
    with make_client(server, tmp_path) as client:
        r = run_one(client)
        assert r.ok and r.attempts == 2 and client.last_stats.retries == {"bad_response": 1}


def test_tokens_of_an_answer_cut_by_max_tokens_are_counted(server, tmp_path):
    server.script(huge(200_000))  # 50,000 completion tokens, then cut: the SDK raises, the tokens were spent
    with make_client(server, tmp_path) as client:
        r = run_one(client)
        s = client.last_stats
    assert r.ok and r.retried == ["truncated"]
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (40, 50_000 + 10)
    assert (s.prompt_tokens, s.completion_tokens) == (40, 50_010)


def test_refused_json_schema_is_a_call_not_a_retry(tmp_path):
    def responder(body: dict) -> Reply:
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return Reply("status", status=400, content="response_format type json_schema is not supported")
        return GOOD

    with FakeOpenAIServer(responder) as srv, make_client(srv, tmp_path, concurrency=1) as client:
        rs = client.run_structured([req(str(i)) for i in range(3)])
        s = client.last_stats
    assert [r.attempts for r in rs] == [2, 1, 1] and srv.calls == 4
    assert s.calls == 4 and s.retries == {} and s.failures == {}


def test_library_objects_are_used_as_built(server, tmp_path):
    """The chat model is LangChain's ``ChatOpenAI`` with the SDK's own completions resource (nothing
    replaced), the SDK does the transport retries, the HTTP client is ours through the public parameter."""
    import openai
    from langchain_openai import ChatOpenAI

    with make_client(server, tmp_path, max_retries=3, timeout_s=1.0) as client:
        chat = client._chat_model()
        assert type(chat) is ChatOpenAI
        assert type(chat.async_client).__module__.startswith("openai.resources.")
        assert isinstance(chat.root_async_client, openai.AsyncOpenAI)
        assert chat.max_retries == 3 and chat.root_async_client.max_retries == 3
        assert chat.http_async_client is client._http


def test_inline_refs_for_grammar_builders():
    from kgrec_neo4j.llm.structured import inline_refs

    class Point(BaseModel):
        value: str

    class Points(BaseModel):
        points: list[Point]
        best: Point | None = None

    js = Points.model_json_schema()
    assert "$defs" in js
    flat = inline_refs(js)
    assert "$defs" not in flat and "$ref" not in json.dumps(flat)
    assert flat["properties"]["points"]["items"]["properties"]["value"]["type"] == "string"
    recursive = {"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
                 "$ref": "#/$defs/Node"}
    out = inline_refs(recursive)
    assert out["properties"]["next"] == {"$ref": "#/$defs/Node"} and "Node" in out["$defs"]


def test_a_timeout_says_how_to_wait_longer():
    """`kgrec llm test X --timeout 0.01` ended with 'the server did not answer in time' and nothing to do about it. The
    setting is named as README names it too (KGREC_LLM_TIMEOUT): an item's or user's reason, kept in the graph, named
    only the kgrec.toml key to an endpoint configured by environment."""
    import httpx
    import openai

    from kgrec_neo4j.llm.structured import classify_error

    req = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    for e in (openai.APITimeoutError(request=req), httpx.ReadTimeout("timed out", request=req)):
        f = classify_error(e)
        assert f.reason == "timeout" and "llm_timeout_s" in f.detail and "--timeout" in f.detail, f.detail
        assert "KGREC_LLM_TIMEOUT" in f.detail, f.detail


@pytest.mark.parametrize("status, words", [
    (401, ["HTTP 401", "OPENAI_API_KEY"]),
    (403, ["HTTP 403", "OPENAI_API_KEY"]),
    (404, ["HTTP 404", "KGREC_LLM_MODEL is 'fake-model'", "/models", "/v1"]),
])
def test_refused_requests_stop_the_run_naming_the_setting_to_fix(tmp_path, status, words):
    """A wrong API key (401/403) or a wrong model or path (404) got every request of a run the same answer: each
    item of `kgrec extract items` was recorded as failed with `http_error` and the command exited 0, naming neither
    the endpoint nor the setting. After `give_up_after` such answers in a row the run stops with an error that
    names both; the requests not sent yet are not sent."""
    from kgrec_neo4j.core.errors import LLMRefused

    with FakeOpenAIServer(server_error(status)) as srv, make_client(srv, tmp_path, concurrency=1) as client:
        with pytest.raises(LLMRefused) as err:
            client.run_structured([req(str(i)) for i in range(8)])
        assert srv.calls == 3  # 4xx is not retried
        msg = str(err.value)
        assert srv.base_url in msg and "5 of its 8 requests not sent" in msg and "`kgrec doctor`" in msg
        for w in words:
            assert w in msg, msg
        assert client.last_stats.failed == 8


def test_a_refusal_that_echoes_the_api_key_does_not_print_it(tmp_path):
    """A server (or a proxy before it) that answers 401 with the key it got in its message ("Invalid API key: sk-…")
    had the key printed in the error that stops the run: only the URL's secrets were hidden there."""
    from fakes.openai_server import Reply

    from kgrec_neo4j.core.errors import LLMRefused

    key = "sk-test-0123456789abcdef"
    with FakeOpenAIServer(Reply("status", status=401, content=f"Invalid API key: {key}")) as srv:
        settings = load_settings({"llm_base_url": srv.base_url, "llm_model": "fake-model", "home": str(tmp_path)},
                                 environ={"OPENAI_API_KEY": key})
        assert settings.llm_api_key == key
        with LLMClient(settings, cache=False, max_retries=0, concurrency=1) as client:
            with pytest.raises(LLMRefused) as err:
                client.run_structured([req(str(i)) for i in range(4)])
    msg = str(err.value)
    assert "HTTP 401" in msg and "Invalid API key: ***" in msg and key not in msg, msg


def test_a_short_run_whose_every_request_failed_alike_stops_too(tmp_path):
    """With fewer requests than `give_up_after` (`kgrec extract items --item X`, `kgrec llm test`, the last round of
    `kgrec interests extract`) and the endpoint stopped or refusing, the run ended with exit code 0 and the items
    recorded as failed. A run whose every sent request failed to connect, or was refused alike, stops with the
    error of a longer run; one answer, or a failure of another kind, keeps it going."""
    from kgrec_neo4j.core.errors import LLMRefused, LLMUnreachable

    with FakeOpenAIServer() as srv:
        url = srv.base_url
    settings = load_settings({"llm_base_url": url, "home": str(tmp_path)}, environ={})
    with LLMClient(settings, cache=False, max_retries=0) as client:
        with pytest.raises(LLMUnreachable, match="1 request in a row could not connect"):
            run_one(client)
    with FakeOpenAIServer(server_error(404)) as srv, make_client(srv, tmp_path) as client:
        with pytest.raises(LLMRefused, match="2 requests in a row answered HTTP 404"):
            client.run_structured([req("a"), req("b")])
        srv.script(GOOD, match="question b")
        a, b = client.run_structured([req("a"), req("b")])  # one answered: the failed one is a result
        assert a.reason == "http_error" and b.ok
    with FakeOpenAIServer(server_error(404)) as srv, make_client(srv, tmp_path, max_retries=0) as client:
        srv.script(server_error(500), match="question b")
        a, b = client.run_structured([req("a"), req("b")], concurrency=1)  # a 404 and a 500: not alike
        assert a.reason == "http_error" and b.reason == "server_error"
        srv.default = server_error(400)
        rs = client.run_structured([req("a"), req("b")])  # a 400 is about its request: no stop
        assert [r.reason for r in rs] == ["http_error", "http_error"]


def test_requests_timing_out_in_a_row_stop_the_run_naming_the_timeout(tmp_path):
    """A server that accepts requests but never answers (stuck) cost every request the timeout times its attempts:
    with the defaults, five minutes an item, for every item of the run, and the run ended with exit code 0. After
    `give_up_after` requests in a row timed out, each after its retries, the rest are not sent and the run stops
    naming the timeout setting; a timeout between answers, or a short run's only request, does not stop it."""
    from kgrec_neo4j.core.errors import LLMTimedOut

    with FakeOpenAIServer(slow(2.0, GOOD)) as srv, \
            make_client(srv, tmp_path, max_retries=0, concurrency=1, timeout_s=0.3) as client:
        t = time.perf_counter()
        with pytest.raises(LLMTimedOut) as err:
            client.run_structured([req(str(i)) for i in range(8)])
        assert time.perf_counter() - t < 3.0  # three timeouts, not eight
        msg = str(err.value)
        assert srv.base_url in msg and "does not answer in time" in msg and "within 0.3 s" in msg
        assert "KGREC_LLM_TIMEOUT, now 0.3 s" in msg and "5 of its 8 requests not sent" in msg
        assert client.last_stats.failures == {"timeout": 8} and client.last_stats.calls == 3

        srv.reset()
        srv.default = GOOD
        srv.script(slow(2.0, GOOD), slow(2.0, GOOD), GOOD, slow(2.0, GOOD), slow(2.0, GOOD), GOOD)
        rs = client.run_structured([req(str(i)) for i in range(6)])  # never three in a row: the run goes on
        assert [r.ok for r in rs] == [False, False, True, False, False, True]
        assert {r.reason for r in rs if not r.ok} == {"timeout"}

        srv.reset()
        srv.default = slow(2.0, GOOD)
        (one,) = client.run_structured([req("a")])  # a short run: the timeout is its result, not a stop
        assert one.reason == "timeout"


def test_an_answer_arriving_after_the_run_gave_up_does_not_change_why_it_stopped(tmp_path):
    """With several requests in flight, one answered after the run had given up on three timeouts in a row reset the
    row: the run stopped with LLMUnreachable, "0 requests in a row could not connect ... Start the server", for an
    endpoint that was only too slow. The run stops naming the timeouts, as it gave up."""
    from kgrec_neo4j.core.errors import LLMTimedOut

    with FakeOpenAIServer(slow(10.0, GOOD)) as srv, \
            make_client(srv, tmp_path, max_retries=0, concurrency=4, timeout_s=3.0) as client:
        srv.script(slow(1.0, GOOD), match="question quick")  # frees its slot at 1 s: `late` is sent then
        srv.script(slow(2.5, GOOD), match="question late")  # answers at 3.5 s, after a, b, c timed out at 3 s
        with pytest.raises(LLMTimedOut) as err:
            client.run_structured([req(k) for k in ("a", "b", "c", "quick", "late")])
        msg = str(err.value)
        assert "does not answer in time: 3 requests in a row" in msg and "KGREC_LLM_TIMEOUT" in msg, msg
        assert client.last_stats.failures == {"timeout": 3}


def test_an_unreachable_endpoint_stops_the_run_instead_of_failing_every_request(tmp_path):
    """With the LLM server stopped mid-run, every remaining request of the run went through its retries and failed
    the same way (an item extraction of 2,000 items: hours of retrying a dead endpoint, then exit code 0). After
    `give_up_after` connection failures in a row the requests not sent yet are not sent, and the run raises an error
    that names the endpoint and how to start it; a connection failure between answers does not stop it."""
    from kgrec_neo4j.core.errors import LLMUnreachable

    with FakeOpenAIServer(drop()) as srv, make_client(srv, tmp_path, max_retries=0, concurrency=1) as client:
        with pytest.raises(LLMUnreachable) as err:
            client.run_structured([req(str(i)) for i in range(8)])
        assert srv.calls == 3
        msg = str(err.value)
        assert srv.base_url in msg and "`kgrec llm serve`" in msg and "KGREC_LLM_BASE_URL" in msg
        assert "5 of its 8 requests not sent" in msg
        assert client.last_stats.failed == 8 and client.last_stats.calls == 3

        srv.reset()
        srv.default = GOOD
        srv.script(drop(), drop(), GOOD, drop(), drop(), GOOD)  # never three in a row: the run goes on
        rs = client.run_structured([req(str(i)) for i in range(6)])
        assert [r.ok for r in rs] == [False, False, True, False, False, True]

        srv.reset()
        rs = client.run_structured([req(str(i)) for i in range(3)])  # a new run starts counting afresh
        assert all(r.ok for r in rs)


def test_llm_test_hides_the_api_key_the_server_echoed(tmp_path, monkeypatch):
    """`kgrec llm test` printed a failed request's reason as the client gave it: a server that refuses it (HTTP 400, no
    stop of the run) with the key it got in its message had the key printed, while every other command hides it."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    key = "sk-test-0123456789abcdef"
    for k, v in {"KGREC_LLM_MODEL": "fake-model", "KGREC_HOME": str(tmp_path), "OPENAI_API_KEY": key,
                 "KGREC_LLM_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(k, v)
    with FakeOpenAIServer(Reply("status", status=400, content=f"bad request (key {key})")) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        r = CliRunner().invoke(cli, ["llm", "test", "Xbox One wireless controller"])
    assert r.exit_code == 1, r.output
    assert "the request failed: http_error: HTTP 400: bad request (key ***)" in r.output and key not in r.output, \
        r.output


def test_llm_test_says_a_refused_request_in_its_own_words(tmp_path, monkeypatch):
    """`kgrec llm test` sends one uncached request, but a refusal ended with the batch run's words: "1 request in a
    row", "the run stopped, 0 of its 1 requests not sent", "it goes on where this one stopped, and the answers
    received so far are cached"."""
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    for k, v in {"KGREC_LLM_MODEL": "fake-model", "KGREC_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-wrong-0123",
                 "KGREC_LLM_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(k, v)
    with FakeOpenAIServer(server_error(401)) as srv:
        monkeypatch.setenv("KGREC_LLM_BASE_URL", srv.base_url)
        r = CliRunner().invoke(cli, ["llm", "test", "Xbox One wireless controller"])
    assert r.exit_code == 1, r.output
    out = " ".join(r.output.split())
    assert f"the LLM endpoint {srv.base_url} refused the request: it answered HTTP 401" in out, out
    assert "OPENAI_API_KEY" in out and "then try again." in out, out
    assert "in a row" not in out and "requests not sent" not in out and "cached" not in out, out


def test_the_cli_says_what_an_interrupt_keeps_and_exits_130(monkeypatch):
    """Ctrl-C printed click's bare "Aborted!" and exited 1 (130 from `kgrec update` only)."""
    from click.testing import CliRunner

    import kgrec_neo4j.core.schema as schema
    from kgrec_neo4j.cli import cli

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(schema, "available_packs", interrupted)
    r = CliRunner().invoke(cli, ["types", "list"])
    assert r.exit_code == 130 and "interrupted: what was written before it is kept" in r.output, r.output


@pytest.mark.parametrize("status, says", [(401, "OPENAI_API_KEY"), (404, "usually ends in /v1")])
def test_doctor_names_the_key_or_the_url_when_the_endpoint_answers_an_error(status, says):
    """`kgrec doctor` said an endpoint that answered 401 "did not answer ... is the server running?", over two lines
    (httpx's message), and never named the key: it says the status and what to fix."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kgrec_neo4j.core.errors import LLMError
    from kgrec_neo4j.llm.endpoint import list_models

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler's name
            self.send_response(status)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with pytest.raises(LLMError) as err:
            list_models(f"http://127.0.0.1:{srv.server_address[1]}/v1", "sk-wrong")
        msg = str(err.value)
        assert f"answered HTTP {status}" in msg and says in msg and "\n" not in msg and "sk-wrong" not in msg, msg
    finally:
        srv.shutdown()


@pytest.mark.filterwarnings("ignore:coroutine 'Runnable.abatch.<locals>.ainvoke' was never awaited")  # as the client
def test_ctrl_c_cancels_the_requests_in_flight_and_sends_no_more(tmp_path):
    """Ctrl-C (SIGINT) while every slot waits on a slow endpoint: the run stops at once with KeyboardInterrupt, not
    when the answers come; the requests in flight are cancelled, so no slot frees and none of the waiting requests
    is sent after it (without the cancel, the answers at 5 s let the next four go out); the same client runs again."""
    import signal
    import threading

    with FakeOpenAIServer(slow(5.0, GOOD)) as srv, \
            make_client(srv, tmp_path, concurrency=4, timeout_s=60.0, max_retries=0) as client:
        lock, armed, at = threading.Lock(), [True], {}

        def interrupt_when_all_slots_wait() -> None:
            deadline = time.monotonic() + 20
            while srv.calls < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            at["sent"] = time.monotonic()
            time.sleep(0.2)
            with lock:  # (never once the run below ended: the signal would stop the test session)
                if armed[0]:
                    at["kill"] = time.monotonic()
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

        # Python's own Ctrl-C handler: a test run started in the background by a script (`cmd &`) starts with SIGINT
        # ignored, and the signal would then never interrupt the run
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(target=interrupt_when_all_slots_wait, daemon=True).start()
        try:
            with pytest.raises(KeyboardInterrupt):
                client.run_structured([req(str(i)) for i in range(20)])
        finally:
            with lock:
                armed[0] = False
            signal.signal(signal.SIGINT, previous)
        assert time.monotonic() - at["kill"] < 3.0  # at once, not when the answers come (5 s after they were sent)
        assert srv.calls == 4
        time.sleep(max(0.0, at["sent"] + 6.0 - time.monotonic()))  # past the cancelled requests' answers
        assert srv.calls == 4  # the 16 waiting requests were never sent
        srv.default = GOOD
        rs = client.run_structured([req(f"again {i}") for i in range(3)])
        assert all(r.ok for r in rs) and srv.calls == 7
