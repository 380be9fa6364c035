"""A generic structured-output client for any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, hosted).

One call sends many requests, each a list of chat messages plus a pydantic schema, and returns one
:class:`Result` per request, in order: the validated value, or the reason it failed. Nothing half-valid
is returned: a value either passed the schema or is ``None``.

What it does for every request:

* **Structured output.** The server is asked for the schema's JSON (``response_format`` of type
  ``json_schema``); ``response_format="auto"`` falls back to ``json_object`` (the schema then goes into
  the system message) when the server refuses ``json_schema`` with HTTP 400. The answer is always
  parsed and validated here, whatever the server promised.
* **Retries.** Timeouts, HTTP 429 (``Retry-After`` honoured), 5xx and dropped connections are retried
  with exponential backoff and jitter, up to ``max_retries``; an answer that is not JSON, violates the
  schema or was cut by ``max_tokens`` is asked again (at ``retry_temperature``) up to
  ``max_output_retries`` times. Other HTTP errors (400, 401, 404, ...) fail at once.
* **Accounting.** :class:`RunStats`: calls, tokens, cache hits, retries and failures by reason, seconds.
* **Cache.** Validated answers go to a SQLite file keyed by (model, prompt version, schema, messages);
  a rerun of the same requests makes zero calls.
* **Throughput.** Requests run concurrently on one event loop (a background thread owned by the
  client), ``concurrency`` of them in flight, sharing one ``ChatOpenAI`` and one connection pool.

Example::

    client = LLMClient(settings)
    results = client.run_structured([StructuredRequest("a", messages, MySchema, prompt_version="v1")])
    print(results[0].value, client.last_stats)
    client.close()
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ..core.config import Settings
from ..core.errors import ConfigError
from .cache import LLMCache, cache_key

if TYPE_CHECKING:  # pragma: no cover
    import httpx

log = logging.getLogger(__name__)

#: failure reasons that are retried with backoff (the server or the network misbehaved)
TRANSPORT_REASONS = frozenset({"timeout", "rate_limited", "server_error", "connection", "bad_response"})
#: failure reasons of the answer itself (asked again, at ``retry_temperature``)
OUTPUT_REASONS = frozenset({"truncated", "invalid_json", "schema_violation", "empty_answer"})
#: failure reasons never retried
FINAL_REASONS = frozenset({"http_error", "unexpected"})

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]


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
    """The outcome of one :class:`StructuredRequest`.

    Attributes:
        key: the request's key.
        value: the validated answer, or ``None`` when the request failed.
        error: ``"<reason>: <detail>"`` when it failed, else ``None``.
        reason: the failure reason alone (one of :data:`TRANSPORT_REASONS`, :data:`OUTPUT_REASONS`,
            :data:`FINAL_REASONS`), else ``None``.
        usage: tokens spent on this request in this run, over all attempts (0 when cached).
        cached: the value came from the on-disk cache (no call made).
        attempts: calls made for it in this run.
        raw: the last answer text received (at most 2,000 characters), for diagnosis.
    """

    key: str
    value: BaseModel | None
    error: str | None = None
    reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    attempts: int = 0
    raw: str | None = None

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


class _Failure(Exception):
    def __init__(self, reason: str, detail: str, *, retry_after: float | None = None, raw: str | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.retry_after, self.raw = reason, detail, retry_after, raw


@dataclass
class _Prepared:
    req: StructuredRequest
    schema_name: str
    json_schema: dict[str, Any]
    cache_key: str
    lc_messages: dict[str, list] = field(default_factory=dict)  # response-format mode -> messages


class LLMClient:
    """Structured requests against ``settings.llm_base_url`` with ``settings.llm_model``.

    Args:
        settings: ``llm_base_url``, ``llm_model``, ``llm_api_key``, ``llm_concurrency``,
            ``llm_timeout_s``, ``llm_max_retries`` and ``home`` (for the cache) are read.
        chat_model: a LangChain chat model to use instead of building ``ChatOpenAI`` (tests pass
            LangChain's fake chat models here); no HTTP settings are needed then.
        cache: ``True`` for ``<home>/cache/llm.sqlite``, ``False`` for none, or an :class:`LLMCache`.
        concurrency: requests in flight (default ``settings.llm_concurrency``).
        timeout_s: limit of one call, connection to last byte (default ``settings.llm_timeout_s``).
        max_retries: retries of timeouts, 429, 5xx and connection failures (default
            ``settings.llm_max_retries``).
        max_output_retries: retries of answers that are not valid JSON / break the schema / were cut.
        retry_base_s / retry_max_s: exponential backoff ``base * 2**n`` (with jitter), capped.
        max_retry_after_s: a server's ``Retry-After`` is honoured up to this many seconds.
        response_format: ``auto`` (json_schema, falling back to json_object on HTTP 400),
            ``json_schema``, ``json_object`` or ``none`` (prompt only).
        temperature / retry_temperature: sampling temperature of first attempts / of output retries.
        max_tokens: default answer limit.
        strict: sent as ``json_schema.strict`` (OpenAI's strict mode needs every property required and
            ``additionalProperties: false``).
        fast_path: let ``ChatOpenAI`` post through :class:`~kgrec_neo4j.llm.fastpath.FastCompletions`
            (same client, no per-call TypedDict transform; see that module). ``False`` = stock SDK path.
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
        retry_base_s: float = 0.5,
        retry_max_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        response_format: ResponseFormat = "auto",
        temperature: float = 0.0,
        retry_temperature: float = 0.7,
        max_tokens: int = 1024,
        strict: bool = False,
        fast_path: bool = True,
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
        self.max_output_retries = max_output_retries
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.max_retry_after_s = max_retry_after_s
        self.temperature = temperature
        self.retry_temperature = retry_temperature
        self.max_tokens = max_tokens
        self.strict = strict
        self.fast_path = fast_path
        self._auto_format = response_format == "auto"
        self._mode: str = "json_schema" if response_format == "auto" else response_format

        if chat_model is None and not settings.llm_base_url:
            raise ConfigError(
                "no LLM endpoint configured (llm_base_url is empty). Set KGREC_LLM_BASE_URL (and "
                "KGREC_LLM_MODEL, OPENAI_API_KEY if the server needs them), e.g. "
                "`export KGREC_LLM_BASE_URL=http://127.0.0.1:8089/v1` after `kgrec llm serve`."
            )
        self.model_name = (settings.llm_model or getattr(chat_model, "model_name", None)
                           or (type(chat_model).__name__ if chat_model is not None else "default"))
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
        self._schema_memo: dict[int, tuple[str, dict[str, Any], str]] = {}
        self._pending: list[dict] = []  # answers not yet in the cache (written at most ~1 s later)
        self._last_flush = time.monotonic()
        self.last_stats = RunStats()
        self.total_stats = RunStats()

    # ----------------------------------------------------------------------------------- public

    @property
    def response_format(self) -> str:
        """The response-format mode in use (``auto`` may have switched it to ``json_object``)."""
        return self._mode

    def run_structured(
        self,
        requests: list[StructuredRequest],
        *,
        concurrency: int | None = None,
        progress: bool = False,
        desc: str = "llm",
    ) -> list[Result]:
        """Run ``requests`` (cache first, then ``concurrency`` calls in flight); one :class:`Result` each,
        in the order given. Failures are results, not exceptions. Stats land in :attr:`last_stats`."""
        conc = int(concurrency if concurrency is not None else self.concurrency)
        if conc < 1:
            raise ValueError(f"concurrency must be >= 1 (got {conc})")
        keys = [r.key for r in requests]
        if len(set(keys)) != len(keys):
            dup = sorted({k for k in keys if keys.count(k) > 1})[:5]
            raise ValueError(f"request keys must be unique within a run (got duplicates {dup})")
        if not requests:
            self.last_stats = RunStats(response_format=self._mode)
            return []
        self._chat_model()  # built (and langchain imported) here, not inside the loop's timed calls
        loop = self._ensure_loop()
        fut = asyncio.run_coroutine_threadsafe(self._arun(list(requests), conc, progress, desc), loop)
        try:
            results, stats = fut.result()
        except BaseException:
            fut.cancel()
            raise
        self.last_stats = stats
        self.total_stats = self.total_stats.merge(stats)
        return results

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
        if self._own_cache and self.cache is not None:
            self.cache.close()
            self.cache = None

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc) -> None:
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

    def _chat_model(self):
        if self._chat is None:
            import httpx
            from langchain_openai import ChatOpenAI

            from . import transport

            limits = max(self.concurrency * 2, 16)
            if transport.available():
                self._http = httpx.AsyncClient(transport=transport.AiohttpTransport(limit=limits),
                                               timeout=self.timeout_s)
            else:
                self._http = httpx.AsyncClient(timeout=self.timeout_s, limits=httpx.Limits(
                    max_connections=limits, max_keepalive_connections=limits))
            self._chat = ChatOpenAI(
                model=self.settings.llm_model or "default",
                base_url=self.settings.llm_base_url,
                api_key=self.settings.llm_api_key or "not-needed",
                timeout=self.timeout_s,
                max_retries=0,  # retries are ours: counted, with Retry-After and per-reason policy
                temperature=self.temperature,
                http_async_client=self._http,
            )
            if self.fast_path:
                from . import fastpath

                fastpath.install(self._chat)
        return self._chat

    def _schema_info(self, req: StructuredRequest) -> tuple[str, dict[str, Any], str]:
        memo_key = id(req.json_schema) if req.json_schema is not None else id(req.schema)
        hit = self._schema_memo.get(memo_key)
        if hit is None:
            js = _inline_refs(req.json_schema if req.json_schema is not None else req.schema.model_json_schema())
            name = re.sub(r"[^A-Za-z0-9_-]", "_", req.schema.__name__)[:64] or "Answer"
            h = hashlib.sha256(json.dumps(js, sort_keys=True).encode()).hexdigest()[:16]
            hit = (name, js, h)
            self._schema_memo[memo_key] = hit
        return hit

    def _prepare(self, req: StructuredRequest) -> _Prepared:
        name, js, h = self._schema_info(req)
        key = cache_key(self.model_name, req.prompt_version, name, h, req.messages)
        return _Prepared(req, name, js, key)

    def _messages_for(self, p: _Prepared, mode: str) -> list:
        msgs = p.lc_messages.get(mode)
        if msgs is None:
            from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

            kinds = {"system": SystemMessage, "user": HumanMessage, "human": HumanMessage,
                     "assistant": AIMessage, "ai": AIMessage}
            raw = [dict(m) for m in p.req.messages]
            if mode in ("json_object", "none"):
                note = ("Answer with one JSON object only (no prose, no code fences) that follows this JSON "
                        "schema:\n" + json.dumps(p.json_schema, ensure_ascii=False))
                if raw and raw[0].get("role") == "system":
                    raw[0]["content"] = raw[0]["content"] + "\n\n" + note
                else:
                    raw.insert(0, {"role": "system", "content": note})
            msgs = []
            for m in raw:
                role = m.get("role")
                if role not in kinds:
                    raise ValueError(f"message role must be one of {sorted(kinds)} (got {role!r})")
                msgs.append(kinds[role](content=m.get("content", "")))
            p.lc_messages[mode] = msgs
        return msgs

    def _response_format(self, p: _Prepared, mode: str) -> dict[str, Any] | None:
        if mode == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": p.schema_name, "schema": p.json_schema, "strict": self.strict}}
        if mode == "json_object":
            return {"type": "json_object"}
        return None

    async def _arun(self, requests: list[StructuredRequest], conc: int, progress: bool,
                    desc: str) -> tuple[list[Result], RunStats]:
        from tqdm.auto import tqdm

        t0 = time.perf_counter()
        self._schema_memo.clear()
        prepared = [self._prepare(r) for r in requests]
        stats = RunStats(requests=len(requests))
        results: list[Result | None] = [None] * len(requests)
        bar = tqdm(total=len(requests), desc=desc, unit="req", disable=not progress, dynamic_ncols=True)
        try:
            hits = self.cache.get_many([p.cache_key for p in prepared]) if self.cache is not None else {}
            for i, p in enumerate(prepared):
                h = hits.get(p.cache_key)
                if h is None:
                    continue
                try:
                    value = p.req.schema.model_validate_json(h.content)
                except ValidationError:
                    continue  # the schema changed since: a miss
                results[i] = Result(p.req.key, value, cached=True, raw=h.content[:2000])
                stats.cache_hits += 1
                stats.succeeded += 1
                bar.update(1)

            sem = asyncio.Semaphore(conc)

            async def work(i: int) -> None:
                async with sem:
                    results[i] = await self._call(prepared[i], stats)
                bar.update(1)
                if stats.failed:
                    bar.set_postfix(failed=stats.failed, refresh=False)

            await asyncio.gather(*(work(i) for i, r in enumerate(results) if r is None))
        finally:
            self._flush_cache()
            bar.close()
        stats.seconds = time.perf_counter() - t0
        stats.response_format = self._mode
        return [r for r in results if r is not None], stats

    async def _call(self, p: _Prepared, stats: RunStats) -> Result:
        attempts = transport_fails = output_fails = 0
        usage = Usage()
        temperature = self.temperature
        last_raw: str | None = None
        max_tokens = p.req.max_tokens or self.max_tokens
        while True:
            attempts += 1
            stats.calls += 1
            mode = self._mode
            try:
                try:
                    content, finish, u = await asyncio.wait_for(
                        self._invoke(p, mode, temperature, max_tokens), timeout=self.timeout_s)
                except TimeoutError:
                    raise _Failure("timeout", f"no complete answer within {self.timeout_s:g} s") from None
                except _Failure:
                    raise
                except Exception as e:  # the SDK's exceptions, classified
                    raise _classify(e) from e
                usage = usage + u
                stats.prompt_tokens += u.prompt_tokens
                stats.completion_tokens += u.completion_tokens
                last_raw = content[:2000]
                value = _validate(p.req.schema, content, finish, max_tokens)
            except _Failure as f:
                if f.raw is not None:
                    last_raw = f.raw
                if (f.reason == "http_error" and self._auto_format and mode == "json_schema"
                        and re.search(r"response_format|json_schema|schema", f.detail, re.I)):
                    log.warning("the server refused response_format json_schema (%s); using json_object",
                                f.detail[:200])
                    self._mode = "json_object"
                    continue
                if f.reason in TRANSPORT_REASONS and transport_fails < self.max_retries:
                    delay = self._backoff(transport_fails, f.retry_after)
                    transport_fails += 1
                elif f.reason in OUTPUT_REASONS and output_fails < self.max_output_retries:
                    delay = 0.0
                    output_fails += 1
                    temperature = self.retry_temperature
                else:
                    stats.failed += 1
                    stats.failures[f.reason] = stats.failures.get(f.reason, 0) + 1
                    log.info("request %s failed after %d attempt(s): %s", p.req.key, attempts, f)
                    return Result(p.req.key, None, error=str(f), reason=f.reason, usage=usage,
                                  attempts=attempts, raw=last_raw)
                stats.retries[f.reason] = stats.retries.get(f.reason, 0) + 1
                log.debug("request %s: %s; retry in %.2f s", p.req.key, f, delay)
                if delay:
                    await asyncio.sleep(delay)
                continue
            if self.cache is not None:
                self._pending.append({"key": p.cache_key, "model": self.model_name,
                                      "prompt_version": p.req.prompt_version, "schema_name": p.schema_name,
                                      "content": value.model_dump_json(), "prompt_tokens": usage.prompt_tokens,
                                      "completion_tokens": usage.completion_tokens})
                if len(self._pending) >= 256 or time.monotonic() - self._last_flush > 1.0:
                    self._flush_cache()
            stats.succeeded += 1
            return Result(p.req.key, value, usage=usage, attempts=attempts, raw=last_raw)

    def _flush_cache(self) -> None:
        if self.cache is not None and self._pending:
            rows, self._pending = self._pending, []
            self.cache.put_many(rows)
        self._last_flush = time.monotonic()

    async def _invoke(self, p: _Prepared, mode: str, temperature: float,
                      max_tokens: int) -> tuple[str, str | None, Usage]:
        chat = self._chat_model()
        kwargs: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        rf = self._response_format(p, mode)
        if rf is not None:
            # extra_body, not response_format=: the SDK then skips its per-call recursive transform of
            # the schema and its .parse() path (measured: ~2 ms of CPU per call); we validate ourselves.
            kwargs["extra_body"] = {"response_format": rf}
        msg = await chat.ainvoke(self._messages_for(p, mode), **kwargs)
        content = msg.content
        if isinstance(content, list):
            content = "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
        meta = getattr(msg, "response_metadata", None) or {}
        um = getattr(msg, "usage_metadata", None) or {}
        return (str(content), meta.get("finish_reason"),
                Usage(prompt_tokens=int(um.get("input_tokens") or 0),
                      completion_tokens=int(um.get("output_tokens") or 0)))

    def _backoff(self, n: int, retry_after: float | None) -> float:
        delay = min(self.retry_max_s, self.retry_base_s * (2 ** n)) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after_s))
        return delay


# ------------------------------------------------------------------------------------ helpers

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S | re.I)


def _validate(schema: type[BaseModel], content: str, finish: str | None, max_tokens: int) -> BaseModel:
    """Parse and validate one answer, raising :class:`_Failure` with the reason."""
    raw = content[:2000]
    text = content.strip()
    if not text:
        if finish == "length":
            raise _Failure("truncated", f"empty answer cut at max_tokens={max_tokens}", raw=raw)
        raise _Failure("empty_answer", "the server answered with no content", raw=raw)
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if finish == "length":
            raise _Failure("truncated", f"the answer hit max_tokens={max_tokens} before the JSON was complete "
                                        f"({len(content)} chars); raise max_tokens or ask for less", raw=raw) from None
        raise _Failure("invalid_json", f"not JSON ({e.msg} at char {e.pos})", raw=raw) from None
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(map(str, x['loc'])) or '<root>'}: {x['msg']}" for x in e.errors()[:3])
        raise _Failure("schema_violation", f"{e.error_count()} error(s): {errs}", raw=raw) from None


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    v = headers.get("retry-after")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(v)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _classify(e: Exception) -> _Failure:
    """Map an exception of the OpenAI SDK / LangChain to a failure reason."""
    try:
        import openai
    except ImportError:  # pragma: no cover
        openai = None  # type: ignore[assignment]
    from .fastpath import BadResponse

    if isinstance(e, BadResponse):
        return _Failure("bad_response", str(e))
    if isinstance(e, ValueError) and "Unexpected response type" in str(e):  # LangChain, stock SDK path
        return _Failure("bad_response", str(e)[:300])
    if openai is not None:
        if isinstance(e, openai.APITimeoutError):
            return _Failure("timeout", f"the server did not answer in time ({e})")
        if isinstance(e, openai.RateLimitError):
            ra = _retry_after(getattr(e.response, "headers", None))
            return _Failure("rate_limited", f"HTTP 429 (Retry-After {ra if ra is not None else '-'} s): {_msg(e)}",
                            retry_after=ra)
        if isinstance(e, openai.APIStatusError):
            code = e.status_code
            if code >= 500 or code in (408, 409):
                return _Failure("server_error", f"HTTP {code}: {_msg(e)}",
                                retry_after=_retry_after(getattr(e.response, "headers", None)))
            return _Failure("http_error", f"HTTP {code}: {_msg(e)}")
        if isinstance(e, openai.APIConnectionError):
            cause = e.__cause__ or e.__context__
            return _Failure("connection", f"{e}" + (f" ({type(cause).__name__}: {cause})" if cause else ""))
        if isinstance(e, getattr(openai, "LengthFinishReasonError", ())):
            return _Failure("truncated", "the answer hit max_tokens")
    import httpx

    if isinstance(e, httpx.TimeoutException):
        return _Failure("timeout", str(e))
    if isinstance(e, httpx.TransportError):
        return _Failure("connection", f"{type(e).__name__}: {e}")
    log.warning("unexpected error from the chat model", exc_info=e)
    return _Failure("unexpected", f"{type(e).__name__}: {e}")


def _msg(e: Exception) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(getattr(e, "message", e))[:300]


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref``s (``#/$defs/X``) by their definitions: some servers' grammar builders
    do not follow references. Recursive definitions are left as references."""
    defs = schema.get("$defs") or schema.get("definitions") or {}

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
                name = ref.rsplit("/", 1)[1]
                if name in defs and name not in stack:
                    merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
                    return walk(merged, stack + (name,))
                return node
            return {k: walk(v, stack) for k, v in node.items() if k not in ("$defs", "definitions")}
        if isinstance(node, list):
            return [walk(v, stack) for v in node]
        return node

    out = walk(schema, ())
    if any(isinstance(v, str) and v.startswith("#/") for v in _iter_refs(out)):
        out["$defs"] = defs  # keep definitions a recursive schema still points to
    return out


def _iter_refs(node: Any):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _iter_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _iter_refs(v)
