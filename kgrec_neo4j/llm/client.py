"""Structured answers from any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, hosted), as LangChain runnables.

A structured request is chat messages plus a pydantic schema; its outcome is a :class:`Result`: the validated
value, or the reason it failed. Nothing half-valid is returned. The work is done by the libraries:

* **The model call** is ``ChatOpenAI.with_structured_output(json_schema, method="json_schema",
  include_raw=True)``; with ``response_format="auto"`` it has ``.with_fallbacks([...JSON mode...])`` for
  servers that refuse ``json_schema`` with HTTP 400 (the schema then goes into the system message, and the
  client stays in JSON mode). The raw answer is validated here (:mod:`.structured`), whatever the server
  promised.
* **Retries** of timeouts, HTTP 429 (``Retry-After`` honoured), 408/409/5xx and dropped connections are the
  OpenAI SDK's (``ChatOpenAI(max_retries=..., timeout=...)``: exponential backoff with jitter from 0.5 s up
  to 8 s). An answer that is not JSON, breaks the schema, was cut by ``max_tokens`` or is not a chat
  completion at all is asked again at ``retry_temperature``: ``.with_fallbacks`` of the same call,
  ``max_output_retries`` times. Other HTTP errors (400, 401, 404, ...) fail at once.
* **An unreachable endpoint stops the run**: once ``give_up_after`` requests in a row failed to connect (each after
  its retries), the requests not sent yet are not sent and :meth:`LLMClient.run` raises
  :class:`~kgrec_neo4j.core.errors.LLMUnreachable` (a server stopped mid-run would otherwise cost every remaining
  request its retries, and the caller would record them all as failed). The answers received before are cached.
  Requests refused in a row with HTTP 401, 403 or 404 (a wrong key, model or path: every request would get the same
  answer) stop it the same way with :class:`~kgrec_neo4j.core.errors.LLMRefused`. A run of fewer requests stops so
  too when every request it sent failed one of these ways. Requests that timed out in a row (each after its
  retries: a stuck server costs each one the timeout times its attempts) stop it with
  :class:`~kgrec_neo4j.core.errors.LLMTimedOut`; a short run whose requests timed out does not stop (its requests
  are results, reason ``timeout``).
* **Concurrency** is ``Runnable.abatch(..., config={"max_concurrency": n})`` on one event loop (a background
  thread owned by the client), sharing one ``ChatOpenAI`` and one connection pool.
* **Accounting** (:class:`RunStats`): calls, tokens, cache hits, retries and failures by reason, seconds. The
  HTTP attempts the SDK makes inside one model call are seen by an observing httpx transport
  (:class:`~kgrec_neo4j.llm.structured.ObservedTransport`); tokens are the messages' ``usage_metadata``.
* **Cache** (kept: no library does it): validated answers go to a SQLite file keyed by (model, prompt
  version, schema, messages); a rerun of the same requests makes zero calls.

Two ways in. A stage with a prompt template builds a chain and runs it::

    client = LLMClient(settings)
    spec = client.spec(MySchema, prompt_version="v1")
    chain = client.chain(spec, ChatPromptTemplate.from_messages([("system", "..."), ("human", "{text}")]))
    results = client.run(chain, [{"key": "a", "text": "..."}])       # one Result per input, in order

Requests with ready messages go through :meth:`LLMClient.run_structured`::

    results = client.run_structured([StructuredRequest("a", messages, MySchema, prompt_version="v1")])
    print(results[0].value, client.last_stats)
    client.close()
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ..core.config import Settings, llm_model_name, redact_url, stored_error
from ..core.errors import ConfigError, LLMError, LLMRefused, LLMTimedOut, LLMUnreachable
from .cache import LLMCache, cache_key
from .structured import (
    CURRENT_LOG,
    AnswerFailure,
    AttemptLog,
    FormatRefused,
    LLMFailure,
    answer_parts,
    classify_error,
    inline_refs,
    structured_model,
    validate_answer,
)

if TYPE_CHECKING:  # pragma: no cover
    import httpx

log = logging.getLogger(__name__)

#: failure reasons of the server or the network (the SDK retries all but ``bad_response``, which is asked again)
TRANSPORT_REASONS = frozenset({"timeout", "rate_limited", "server_error", "connection", "bad_response"})
#: failure reasons of the answer itself (asked again, at ``retry_temperature``)
OUTPUT_REASONS = frozenset({"truncated", "invalid_json", "schema_violation", "empty_answer"})
#: failure reasons never retried
FINAL_REASONS = frozenset({"http_error", "unexpected"})

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]

#: the outcome noted for a ``json_schema`` call the server refused (a call, not a retry)
_REFUSED = "response_format_refused"


@dataclass
class StructuredRequest:
    """One request: chat messages and the pydantic schema its answer must satisfy.

    Attributes:
        key: the caller's id of the request (unique within one run), echoed in :class:`Result`.
        messages: ``[{"role": "system" | "user" | "assistant", "content": str}, ...]``.
        schema: the pydantic model the answer is validated against.
        json_schema: the JSON schema sent to the server; default ``schema.model_json_schema()``. Pass a
            tighter one (enums, maxItems) when validation should stay lenient and count problems itself.
        prompt_version: part of the cache key; bump it whenever the prompt text changes.
        max_tokens: answer limit for this request (default: the client's).
    """

    key: str
    messages: list[dict[str, str]]
    schema: type[BaseModel]
    json_schema: dict[str, Any] | None = None
    prompt_version: str = ""
    max_tokens: int | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens)


@dataclass
class Result:
    """The outcome of one request.

    Attributes:
        key: the request's key.
        value: the validated answer, or ``None`` when the request failed.
        error: ``"<reason>: <detail>"`` when it failed, else ``None``.
        reason: the failure reason alone (one of :data:`TRANSPORT_REASONS`, :data:`OUTPUT_REASONS`,
            :data:`FINAL_REASONS`), else ``None``.
        usage: tokens spent on this request in this run, over all attempts (0 when cached).
        cached: the value came from the on-disk cache (no call made).
        attempts: HTTP calls made for it in this run (retries included).
        raw: the last answer text received (at most 2,000 characters), for diagnosis.
        retried: the reasons of the attempts that were followed by another one, in order.
    """

    key: str
    value: BaseModel | None
    error: str | None = None
    reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    attempts: int = 0
    raw: str | None = None
    retried: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.value is not None


class RunStats(BaseModel):
    """Accounting of one run (or of several, merged with :meth:`merge`)."""

    requests: int = 0
    calls: int = Field(0, description="HTTP calls made, retries included")
    cache_hits: int = 0
    succeeded: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: dict[str, int] = Field(default_factory=dict, description="reason -> retried attempts")
    failures: dict[str, int] = Field(default_factory=dict, description="reason -> requests that failed")
    seconds: float = 0.0
    response_format: str = ""

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def of(cls, results: Sequence[Result], *, seconds: float = 0.0, response_format: str = "") -> RunStats:
        """The accounting of ``results`` (one run)."""
        retries: dict[str, int] = {}
        failures: dict[str, int] = {}
        for r in results:
            for reason in r.retried:
                retries[reason] = retries.get(reason, 0) + 1
            if r.reason is not None:
                failures[r.reason] = failures.get(r.reason, 0) + 1
        ok = sum(r.ok for r in results)
        return cls(requests=len(results), calls=sum(r.attempts for r in results),
                   cache_hits=sum(r.cached for r in results), succeeded=ok, failed=len(results) - ok,
                   prompt_tokens=sum(r.usage.prompt_tokens for r in results),
                   completion_tokens=sum(r.usage.completion_tokens for r in results),
                   retries=retries, failures=failures, seconds=seconds, response_format=response_format)

    def merge(self, other: RunStats) -> RunStats:
        def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + v
            return out

        return RunStats(
            requests=self.requests + other.requests, calls=self.calls + other.calls,
            cache_hits=self.cache_hits + other.cache_hits, succeeded=self.succeeded + other.succeeded,
            failed=self.failed + other.failed, prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            retries=add(self.retries, other.retries), failures=add(self.failures, other.failures),
            seconds=self.seconds + other.seconds, response_format=other.response_format or self.response_format,
        )


@dataclass(frozen=True, eq=False)
class AnswerSpec:
    """What a structured answer must be: the pydantic schema, the JSON schema sent (``$ref``s inlined), its
    name and hash (cache key), the prompt version (cache key) and the answer's token limit.
    Build one with :meth:`LLMClient.spec`."""

    schema: type[BaseModel]
    json_schema: dict[str, Any]
    name: str
    schema_hash: str
    prompt_version: str
    max_tokens: int


_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def message_dicts(messages: Sequence[Any]) -> list[dict[str, str]]:
    """LangChain messages as ``{"role", "content"}`` dicts (the form the cache key is computed on)."""
    return [{"role": _ROLES.get(m.type, m.type), "content": m.content if isinstance(m.content, str)
             else json.dumps(m.content, ensure_ascii=False, sort_keys=True)} for m in messages]


def lc_messages(messages: Sequence[dict[str, str]]) -> list[Any]:
    """``{"role", "content"}`` dicts as LangChain messages."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "human": HumanMessage, "assistant": AIMessage,
             "ai": AIMessage}
    out = []
    for m in messages:
        role = m.get("role")
        if role not in kinds:
            raise ValueError(f"message role must be one of {sorted(kinds)} (got {role!r})")
        out.append(kinds[role](content=m.get("content", "")))
    return out


def _check_no_user_info(url: str) -> None:
    """Refuse an endpoint URL with a user (``http://user:pw@host/v1``): the OpenAI client sends the key as an
    ``Authorization`` header, and the HTTP layer will not combine it with credentials in the URL (every request failed
    with ``Cannot combine AUTHORIZATION header with AuthBasic``). The message names the fix, not the password."""
    from urllib.parse import urlsplit

    try:
        user = urlsplit(url).username
    except ValueError:
        return
    if user is not None:
        raise ConfigError(f"the LLM endpoint URL {redact_url(url)} has a user in it, which the OpenAI client cannot "
                          f"send beside its API key: remove `user:password@` from KGREC_LLM_BASE_URL and put the key "
                          f"in OPENAI_API_KEY (or KGREC_LLM_API_KEY)")


# LangChain's abatch creates every request's coroutine up front: after a cancelled run (Ctrl-C) those still waiting
# for a slot were never started, which Python reports when it collects them; that one message alone is not a fault
warnings.filterwarnings("ignore", message=r"coroutine 'Runnable\.abatch\.<locals>\.ainvoke' was never awaited",
                        category=RuntimeWarning)


async def _cancel_pending() -> None:
    """Cancel every other task of the running loop (the client's own) and wait until they have ended: a run
    interrupted while its requests were in flight left them pending, and Python reported "coroutine ... was never
    awaited" and "Task was destroyed but it is pending" tracebacks on the way out."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class LLMClient:
    """Structured answers from ``settings.llm_base_url`` with ``settings.llm_model``.

    Args:
        settings: ``llm_base_url``, ``llm_model``, ``llm_api_key``, ``llm_concurrency``,
            ``llm_timeout_s``, ``llm_max_retries`` and ``home`` (for the cache) are read.
        chat_model: a LangChain chat model to use instead of building ``ChatOpenAI`` (tests pass
            LangChain's fake chat models here); it is bound with ``response_format`` then. No HTTP
            settings are needed.
        cache: ``True`` for ``<home>/cache/llm.sqlite``, ``False`` for none, or an :class:`LLMCache`.
        concurrency: requests in flight (default ``settings.llm_concurrency``).
        timeout_s: limit of one HTTP attempt, connection to last byte (default ``settings.llm_timeout_s``).
        max_retries: the SDK's retries of timeouts, 429, 408/409/5xx and connection failures (default
            ``settings.llm_max_retries``).
        max_output_retries: retries of answers that are not valid JSON / break the schema / were cut / are
            not a chat completion.
        response_format: ``auto`` (json_schema, falling back to JSON mode on an HTTP 400 that names it),
            ``json_schema``, ``json_object`` or ``none`` (prompt only).
        temperature / retry_temperature: sampling temperature of first attempts / of output retries.
        max_tokens: default answer limit.
        strict: sent as ``json_schema.strict`` (OpenAI's strict mode needs every property required and
            ``additionalProperties: false``).
        give_up_after: connection failures in a row (each after its retries) after which a run stops
            (:class:`~kgrec_neo4j.core.errors.LLMUnreachable`), or HTTP 401/403/404 answers in a row
            (:class:`~kgrec_neo4j.core.errors.LLMRefused`); a run whose every sent request failed one of these
            ways stops too, however few they were. Timeouts in a row (each after its retries) stop a run the same
            way (:class:`~kgrec_neo4j.core.errors.LLMTimedOut`), but not a shorter one. 0 never stops.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        chat_model: Any | None = None,
        cache: LLMCache | bool = True,
        concurrency: int | None = None,
        timeout_s: float | None = None,
        max_retries: int | None = None,
        max_output_retries: int = 1,
        response_format: ResponseFormat = "auto",
        temperature: float = 0.0,
        retry_temperature: float = 0.7,
        max_tokens: int = 1024,
        strict: bool = False,
        give_up_after: int = 3,
    ):
        self.settings = settings
        self.concurrency = int(concurrency if concurrency is not None else settings.llm_concurrency)
        self.timeout_s = float(timeout_s if timeout_s is not None else settings.llm_timeout_s)
        self.max_retries = int(max_retries if max_retries is not None else settings.llm_max_retries)
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1 (got {self.concurrency})")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 (got {self.timeout_s})")
        if self.max_retries < 0 or max_output_retries < 0:
            raise ValueError(f"max_retries and max_output_retries must be >= 0 (got {self.max_retries}, "
                             f"{max_output_retries})")
        if response_format not in ("auto", "json_schema", "json_object", "none"):
            raise ValueError(f"response_format must be auto, json_schema, json_object or none "
                             f"(got {response_format!r})")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1 (got {max_tokens})")
        if give_up_after < 0:
            raise ValueError(f"give_up_after must be >= 0 (got {give_up_after})")
        if chat_model is None:
            _check_no_user_info(settings.llm_base_url)
        self.give_up_after = give_up_after
        self._unreachable_in_row = 0  # requests of the current run that failed to connect (or were refused), in a row
        self._blocked_kind: str | None = None  # what they met: "connection", "timeout" or "refused" (HTTP 401/403/404)
        self._blocked_last = ""  # the last of those failures
        self._gave_up: str | None = None  # the last connection failure, once the run gave up
        self.max_output_retries = max_output_retries
        self.temperature = temperature
        self.retry_temperature = retry_temperature
        self.max_tokens = max_tokens
        self.strict = strict
        self._auto_format = response_format == "auto"
        self._mode: str = "json_schema" if response_format == "auto" else response_format

        if chat_model is None and not settings.llm_base_url:
            raise ConfigError(
                "no LLM endpoint configured (llm_base_url is empty). Set KGREC_LLM_BASE_URL (and "
                "KGREC_LLM_MODEL, OPENAI_API_KEY if the server needs them), e.g. "
                "`export KGREC_LLM_BASE_URL=http://127.0.0.1:8089/v1` after `kgrec llm serve`."
            )
        self.model_name = (settings.llm_model or getattr(chat_model, "model_name", None)
                           or (type(chat_model).__name__ if chat_model is not None else llm_model_name(settings)))
        self._chat = chat_model
        self._http: httpx.AsyncClient | None = None
        if cache is True:
            self.cache: LLMCache | None = LLMCache(settings.home_path / "cache" / "llm.sqlite")
            self._own_cache = True
        else:
            self.cache = cache if isinstance(cache, LLMCache) else None  # (an empty cache is falsy)
            self._own_cache = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._specs: dict[tuple, AnswerSpec] = {}
        self._runnables: dict[tuple, Any] = {}
        self._pending: list[dict] = []  # answers not yet in the cache (written at most ~1 s later)
        self._last_flush = time.monotonic()
        self._request_chain: Any = None
        self.last_stats = RunStats()
        self.total_stats = RunStats()

    # ----------------------------------------------------------------------------------- public

    @property
    def response_format(self) -> str:
        """The response-format mode in use (``auto`` may have switched it to ``json_object``)."""
        return self._mode

    def spec(self, schema: type[BaseModel], *, json_schema: dict[str, Any] | None = None, prompt_version: str = "",
             max_tokens: int | None = None) -> AnswerSpec:
        """The :class:`AnswerSpec` of ``schema`` (``json_schema``: the one sent, default the schema's own)."""
        frozen = json.dumps(json_schema, sort_keys=True) if json_schema is not None else None
        memo = (schema, frozen, prompt_version, max_tokens)
        hit = self._specs.get(memo)
        if hit is None:
            js = inline_refs(json_schema if json_schema is not None else schema.model_json_schema())
            name = re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64] or "Answer"
            h = hashlib.sha256(json.dumps(js, sort_keys=True).encode()).hexdigest()[:16]
            hit = AnswerSpec(schema, js, name, h, prompt_version, int(max_tokens or self.max_tokens))
            if len(self._specs) > 10_000:
                self._specs.clear()
            self._specs[memo] = hit
        return hit

    def chain(self, spec: AnswerSpec | None, prompt: Any) -> Any:
        """``prompt | structured answer | validation`` as one runnable: input the prompt's variables plus a
        ``key`` (and a ``spec`` when ``spec`` is None: an answer schema per input), output a :class:`Result`
        (failures are results, not exceptions). Run it with :meth:`run`."""
        from langchain_core.runnables import RunnableLambda, RunnablePassthrough

        async def answer(inp: dict, config: Any) -> Result:
            return await self._answer(inp["key"], inp["prompt"].to_messages(), spec or inp["spec"], config)

        name = f"{spec.name} answer" if spec is not None else "structured answer"
        return RunnablePassthrough.assign(prompt=prompt) | RunnableLambda(answer, name=name)

    def run(self, chain: Any, inputs: Sequence[Any], *, concurrency: int | None = None, progress: bool = False,
            desc: str = "llm") -> list[Result]:
        """``chain.abatch(inputs)`` with ``concurrency`` in flight on the client's event loop; one
        :class:`Result` per input, in order. Stats land in :attr:`last_stats`."""
        conc = int(concurrency if concurrency is not None else self.concurrency)
        if conc < 1:
            raise ValueError(f"concurrency must be >= 1 (got {conc})")
        keys = [x.key if isinstance(x, StructuredRequest) else x["key"] for x in inputs]
        if len(set(keys)) != len(keys):
            dup = sorted({k for k in keys if keys.count(k) > 1})[:5]
            raise ValueError(f"request keys must be unique within a run (got duplicates {dup})")
        if not inputs:
            self.last_stats = RunStats(response_format=self._mode)
            return []
        self._chat_model()  # built (and langchain imported) here, not inside the loop's timed calls
        loop = self._ensure_loop()
        fut = asyncio.run_coroutine_threadsafe(self._arun(chain, list(inputs), conc, progress, desc), loop)
        try:
            results, stats = fut.result()
        except BaseException:  # Ctrl-C among them: the requests in flight are cancelled and awaited, not abandoned
            fut.cancel()
            try:
                asyncio.run_coroutine_threadsafe(_cancel_pending(), loop).result(timeout=10)
            except Exception:  # noqa: BLE001 - the first error is the one to raise
                log.debug("cancelling the requests in flight", exc_info=True)
            raise
        self.last_stats = stats
        self.total_stats = self.total_stats.merge(stats)
        sent = sum(1 for r in results if not r.cached)
        if self._gave_up is None and self.give_up_after and sent and self._unreachable_in_row >= sent \
                and self._blocked_kind != "timeout":
            self._gave_up = self._blocked_last  # every request sent failed the same way: as good as giving up
        if self._gave_up is not None:
            raise self._unreachable(results)
        return results

    def _unreachable(self, results: list[Result]) -> LLMError:
        url = self.settings.llm_base_url
        where = f"the LLM endpoint {redact_url(url)}" if url else "the LLM endpoint"
        unsent = sum(1 for r in results if r.value is None and r.attempts == 0 and not r.cached)
        last = stored_error(self._gave_up or "", self.settings)  # (the URL's secrets and the API key hidden)
        n = self._unreachable_in_row
        stopped = f"the run stopped, {unsent} of its {len(results)} requests not sent" if len(results) > 1 else \
            "the request was not answered"
        # (a run without the cache, as `kgrec llm test`, has nothing to go on from)
        again = ("then run the command again: it goes on where this one stopped, and the answers received so far are "
                 "cached." if self.cache is not None else "then try again.")
        if self._blocked_kind == "refused":
            code = re.match(r"(?:http_error: )?HTTP (\d+)", last)
            fix = ("the API key is missing or wrong: set OPENAI_API_KEY (or KGREC_LLM_API_KEY) to one the server "
                   "accepts" if code and code.group(1) in ("401", "403") else
                   f"the model or the path is wrong: KGREC_LLM_MODEL is {self.settings.llm_model or '(unset)'!r} "
                   f"(`curl {redact_url(url).rstrip('/')}/models` lists the served ones) and KGREC_LLM_BASE_URL "
                   f"usually ends in /v1")
            status = 'HTTP ' + code.group(1) if code else 'an HTTP error'
            told = (f"refused the request: it answered {status} ({last[:300]})" if len(results) == 1 else
                    f"refused the requests: {n} request{'s' if n != 1 else ''} in a row answered {status} (last: "
                    f"{last[:300]}); {stopped}")
            return LLMRefused(
                f"{where} {told}. Probably "
                f"{fix}; `kgrec doctor` checks the endpoint, {again}")
        if self._blocked_kind == "timeout":
            return LLMTimedOut(
                f"{where} does not answer in time: {n} request{'s' if n != 1 else ''} in a row got no complete "
                f"answer within {self.timeout_s:g} s, each after {self.max_retries} retries (last: {last[:300]}); "
                f"{stopped}. Check that the server is not stuck (`kgrec doctor`, `kgrec llm test`); if it is only "
                f"slow, give each request longer (KGREC_LLM_TIMEOUT, now {self.timeout_s:g} s) or send fewer at "
                f"once (KGREC_LLM_CONCURRENCY), {again}")
        return LLMUnreachable(
            f"{where} is unreachable: {n} request{'s' if n != 1 else ''} in a row could not connect, each after "
            f"{self.max_retries} retries (last: {last[:300]}); {stopped}. Start the server (`kgrec llm serve` "
            f"for the bundled model) or point KGREC_LLM_BASE_URL at a running one (`kgrec doctor` checks it), "
            f"{again}")

    def run_structured(self, requests: list[StructuredRequest], *, concurrency: int | None = None,
                       progress: bool = False, desc: str = "llm") -> list[Result]:
        """Run ``requests`` (ready messages, each with its schema): :meth:`run` of the request chain."""
        if self._request_chain is None:
            from langchain_core.runnables import RunnableLambda

            self._request_chain = RunnableLambda(self._answer_request, name="structured request")
        return self.run(self._request_chain, requests, concurrency=concurrency, progress=progress, desc=desc)

    def close(self) -> None:
        """Close the connection pool, stop the event-loop thread and close an owned cache."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            if self._http is not None:
                try:
                    asyncio.run_coroutine_threadsafe(self._http.aclose(), loop).result(timeout=5)
                except Exception:  # closing is best effort
                    log.debug("closing the HTTP client failed", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            loop.close()
        self._flush_cache()
        if self._own_cache and self.cache is not None:
            self.cache.close()
            self.cache = None

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------- internals

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="kgrec-llm-loop", daemon=True)
                t.start()
                self._loop, self._thread = loop, t
            return self._loop

    def _chat_model(self) -> Any:
        if self._chat is None:
            import httpx
            from langchain_openai import ChatOpenAI

            from .structured import ObservedTransport
            from .transport import AiohttpTransport

            limits = max(self.concurrency * 2, 16)
            self._http = httpx.AsyncClient(
                transport=ObservedTransport(AiohttpTransport(limit=limits, deadline_s=self.timeout_s)),
                timeout=self.timeout_s)
            self._chat = ChatOpenAI(
                model=self.settings.llm_model or "default",
                base_url=self.settings.llm_base_url,
                api_key=self.settings.llm_api_key or "not-needed",
                timeout=self.timeout_s,
                max_retries=self.max_retries,
                temperature=self.temperature,
                http_async_client=self._http,
            )
        return self._chat

    async def _arun(self, chain: Any, inputs: list[Any], conc: int, progress: bool,
                    desc: str) -> tuple[list[Result], RunStats]:
        from ..core.progress import bar as progress_bar

        t0 = time.perf_counter()
        self._unreachable_in_row, self._blocked_kind, self._blocked_last, self._gave_up = 0, None, "", None
        bar = progress_bar(total=len(inputs), desc=desc, unit="req", disable=not progress, dynamic_ncols=True)
        config: dict[str, Any] = {"max_concurrency": conc}
        if progress:
            config["callbacks"] = [_progress_handler(bar)]
        try:
            results = await chain.abatch(inputs, config=config)
        finally:
            self._flush_cache()
            bar.close()
        return results, RunStats.of(results, seconds=time.perf_counter() - t0, response_format=self._mode)

    async def _answer_request(self, req: StructuredRequest, config: Any) -> Result:
        spec = self.spec(req.schema, json_schema=req.json_schema, prompt_version=req.prompt_version,
                         max_tokens=req.max_tokens)
        return await self._answer(req.key, lc_messages(req.messages), spec, config, dicts=req.messages)

    async def _answer(self, key: str, messages: list[Any], spec: AnswerSpec, config: Any,
                      dicts: list[dict[str, str]] | None = None) -> Result:
        """One request: the cache, else the answer runnable; every failure becomes a :class:`Result`."""
        ck = cache_key(self.model_name, spec.prompt_version, spec.name, spec.schema_hash,
                       dicts if dicts is not None else message_dicts(messages))
        if self.cache is not None:
            hit = self.cache.get_many([ck]).get(ck)
            if hit is not None:
                try:
                    return Result(key, spec.schema.model_validate_json(hit.content), cached=True,
                                  raw=hit.content[:2000])
                except ValidationError:
                    pass  # the schema changed since: a miss
        if self._gave_up is not None:  # the endpoint is unreachable or refuses: the run stops (run() raises)
            if self._blocked_kind == "refused":
                return Result(key, None, error=f"http_error: not sent, the endpoint refuses the requests "
                                               f"({self._gave_up})", reason="http_error")
            if self._blocked_kind == "timeout":
                return Result(key, None, error=f"timeout: not sent, the endpoint does not answer in time "
                                               f"({self._gave_up})", reason="timeout")
            return Result(key, None, error=f"connection: not sent, the endpoint is unreachable ({self._gave_up})",
                          reason="connection")
        attempts = AttemptLog()
        token = CURRENT_LOG.set(attempts)
        failure: LLMFailure | None = None
        value: BaseModel | None = None
        try:
            value = await self._answer_runnable(spec).ainvoke(messages, config)
        except LLMFailure as f:
            failure = f
        except Exception as e:  # a bug or a library surprise: this request fails, the run goes on
            failure = classify_error(e)
        finally:
            CURRENT_LOG.reset(token)
        last = attempts.last_failure or failure
        usage = Usage(prompt_tokens=attempts.prompt_tokens, completion_tokens=attempts.completion_tokens)
        retried = [r for r in attempts.calls[:-1] if r is not None and r != _REFUSED]
        n = len(attempts.calls)
        if value is None:
            assert last is not None
            log.info("request %s failed after %d call(s): %s", key, n, stored_error(last, self.settings))
            self._note_connection(last)
            return Result(key, None, error=str(last), reason=last.reason, usage=usage, attempts=n,
                          raw=attempts.raw, retried=retried)
        if self._gave_up is None:  # an answer to a request in flight when the run gave up: why it stops stays
            self._unreachable_in_row, self._blocked_kind = 0, None
        if self.cache is not None:
            self._pending.append({"key": ck, "model": self.model_name, "prompt_version": spec.prompt_version,
                                  "schema_name": spec.name, "content": value.model_dump_json(),
                                  "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens})
            if len(self._pending) >= 256 or time.monotonic() - self._last_flush > 1.0:
                self._flush_cache()
        return Result(key, value, usage=usage, attempts=n, raw=attempts.raw, retried=retried)

    def _note_connection(self, failure: LLMFailure) -> None:
        """Count a failed request towards giving up: a connection failure, a timeout (after the request's retries), or
        an HTTP 401/403/404 (the same for every request: a wrong key, model or path), adds one to a row of its kind;
        any other outcome resets. Once the run gave up, the row (the reason it stops) is kept as it was."""
        if self._gave_up is not None:
            return
        if failure.reason in ("connection", "timeout"):
            kind: str | None = failure.reason
        elif failure.reason == "http_error" and _REFUSED_STATUS.match(failure.detail):
            kind = "refused"
        else:
            kind = None
        if kind is None:
            self._unreachable_in_row, self._blocked_kind = 0, None
            return
        if kind != self._blocked_kind:
            self._unreachable_in_row, self._blocked_kind = 0, kind
        self._unreachable_in_row += 1
        self._blocked_last = str(failure)
        if self.give_up_after and self._unreachable_in_row >= self.give_up_after and self._gave_up is None:
            self._gave_up = str(failure)
            log.info("the LLM endpoint %s (%d requests in a row); stopping the run",
                     {"refused": "refuses the requests", "timeout": "does not answer in time"}.get(kind, "is unreachable"),
                     self._unreachable_in_row)

    def _answer_runnable(self, spec: AnswerSpec) -> Any:
        """``call(temperature).with_fallbacks([call(retry_temperature)] * max_output_retries)`` on
        :class:`AnswerFailure`, each call with the JSON-mode fallback when ``auto``; one per schema and mode."""
        memo = (spec.schema, spec.schema_hash, spec.max_tokens, self._mode)
        hit = self._runnables.get(memo)
        if hit is None:
            if len(self._runnables) > 512:  # schemas made per request (e.g. enums of the request's ids)
                self._runnables.clear()
            first = self._attempt(spec, self._mode, self.temperature)
            retries = [self._attempt(spec, self._mode, self.retry_temperature)] * self.max_output_retries
            hit = first.with_fallbacks(retries, exceptions_to_handle=(AnswerFailure,)) if retries else first
            self._runnables[memo] = hit
        return hit

    def _attempt(self, spec: AnswerSpec, mode: str, temperature: float) -> Any:
        call = self._call(spec, mode, temperature)
        if mode == "json_schema" and self._auto_format:
            return call.with_fallbacks([self._call(spec, "json_object", temperature)],
                                       exceptions_to_handle=(FormatRefused,))
        return call

    def _call(self, spec: AnswerSpec, mode: str, temperature: float) -> Any:
        """One model call (the SDK's transport retries inside it), classified and validated."""
        from langchain_core.runnables import RunnableLambda

        model = structured_model(self._chat_model(), mode, spec.name, spec.json_schema, strict=self.strict,
                                 temperature=temperature, max_tokens=spec.max_tokens)
        refusable = mode == "json_schema" and self._auto_format

        async def call(messages: list[Any], config: Any) -> BaseModel:
            attempts = CURRENT_LOG.get() or AttemptLog()
            start = len(attempts.calls)
            try:
                out = await model.ainvoke(messages, config)
                content, finish, usage = answer_parts(out["raw"])
                value = validate_answer(spec.schema, content, finish, spec.max_tokens, usage)
            except Exception as e:
                answered = len(attempts.calls) > start and attempts.calls[-1] is None
                f = classify_error(e, json_schema_mode=refusable, answered=answered)
                attempts.close_call(start, f.reason, raw=f.raw, usage=f.usage)
                attempts.last_failure = f
                if isinstance(f, FormatRefused):
                    attempts.calls[-1] = _REFUSED  # a call, not a retry: the fallback asks in JSON mode
                    self._use_json_mode(f)
                raise f from (None if f is e else e)
            attempts.close_call(start, None, raw=content, usage=usage)
            attempts.last_failure = None
            return value

        return RunnableLambda(call, name=f"{mode} call")

    def _use_json_mode(self, f: LLMFailure) -> None:
        if self._mode == "json_schema":
            log.warning("the server refused response_format json_schema (%s); using json_object",
                        stored_error(f.detail, self.settings, limit=200))
            self._mode = "json_object"

    def _flush_cache(self) -> None:
        if self.cache is not None and self._pending:
            rows, self._pending = self._pending, []
            self.cache.put_many(rows)
        self._last_flush = time.monotonic()


#: HTTP answers that every request of a run would get alike: no key or a wrong one, no such model or path
_REFUSED_STATUS = re.compile(r"HTTP (401|403|404)\b")


def _progress_handler(bar: Any) -> Any:
    """A callback handler that advances ``bar`` when a batch input's root run ends."""
    from langchain_core.callbacks import BaseCallbackHandler

    class Progress(BaseCallbackHandler):
        run_inline = True

        def on_chain_end(self, outputs: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any) -> None:
            if parent_run_id is None:
                bar.update(1)

    return Progress()
