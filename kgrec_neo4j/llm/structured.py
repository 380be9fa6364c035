"""The LangChain building blocks of one structured answer: the model call, its failure reasons, the validation.

* :func:`structured_model` -- ``ChatOpenAI.with_structured_output(json_schema, method="json_schema",
  include_raw=True)`` (or ``method="json_mode"``), any other chat model bound with ``response_format``. The
  output is always ``{"raw": AIMessage, ...}``: the raw text is what :func:`validate_answer` checks. The
  library's own parse of it is not trusted: its JSON parser completes truncated JSON
  (``parse_partial_json``), which would turn an answer cut by ``max_tokens`` into a shorter valid one.
* :func:`classify_error` -- an exception of the OpenAI SDK or of LangChain (``ModelRateLimitError``,
  ``ModelTimeoutError``, ...) as a failure reason of the project's vocabulary: :class:`LLMFailure`, with
  the subclasses that the chain's fallbacks handle: :class:`AnswerFailure` (asked again at the retry
  temperature) and :class:`FormatRefused` (the server refused ``json_schema``: JSON mode instead).
* :func:`validate_answer` -- raw text -> the pydantic value, or :class:`AnswerFailure` with the reason
  (``truncated``, ``invalid_json``, ``schema_violation``, ``empty_answer``).
* :class:`ObservedTransport` -- the OpenAI SDK retries timeouts, 429 (``Retry-After``), 5xx and dropped
  connections itself, inside one model call; this httpx transport notes the outcome of every HTTP attempt
  on the :class:`AttemptLog` of the request it belongs to (a context variable set per request), so that
  calls and retries are counted by reason. It observes; it changes nothing.
"""

from __future__ import annotations

import contextvars
import email.utils
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from ..core.words import plural

log = logging.getLogger(__name__)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S | re.I)
_FORMAT_REFUSAL = re.compile(r"response_format|json_schema|schema", re.I)
_RAW_CHARS = 2000


#: what a timeout's message says to do
TIMEOUT_FIX = ("give it longer (KGREC_LLM_TIMEOUT or `llm_timeout_s` in kgrec.toml, `--timeout` of `kgrec llm test`) "
               "or use a faster model or server")


class LLMFailure(Exception):
    """A failed model call: ``reason`` (the project's vocabulary) and ``detail``; ``raw`` is the answer text
    when there was one, ``usage`` the tokens the call spent (``(prompt, completion)``)."""

    def __init__(self, reason: str, detail: str, *, raw: str | None = None,
                 usage: tuple[int, int] = (0, 0)):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.raw, self.usage = reason, detail, raw, usage


class AnswerFailure(LLMFailure):
    """The server answered, but not with a valid answer (or not with a chat completion): worth asking again."""


class FormatRefused(LLMFailure):
    """The server refused ``response_format`` of type ``json_schema`` (HTTP 400 naming it)."""


# ------------------------------------------------------------------------------ attempts, observed

@dataclass
class AttemptLog:
    """What happened to one request: one entry per HTTP call (``None`` = answered), the last answer text and
    the tokens spent. Filled by :class:`ObservedTransport` and by the chain's call step."""

    calls: list[str | None] = field(default_factory=list)
    raw: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_failure: LLMFailure | None = None

    def close_call(self, start: int, reason: str | None, *, raw: str | None = None,
                   usage: tuple[int, int] = (0, 0)) -> None:
        """End one model call that began when ``calls`` had ``start`` entries: a model without HTTP (a fake
        in tests) made one call; the outcome of the answered call is ``reason``."""
        if len(self.calls) == start:
            self.calls.append(None)
        if reason is not None and self.calls[-1] is None:
            self.calls[-1] = reason
        if raw is not None:
            self.raw = raw[:_RAW_CHARS]
        self.prompt_tokens += usage[0]
        self.completion_tokens += usage[1]


#: the :class:`AttemptLog` of the request being answered in this task (and the tasks it starts)
CURRENT_LOG: contextvars.ContextVar[AttemptLog | None] = contextvars.ContextVar("kgrec_llm_attempts",
                                                                               default=None)


def status_reason(status: int) -> str | None:
    if status < 400:
        return None
    if status == 429:
        return "rate_limited"
    if status >= 500 or status in (408, 409):
        return "server_error"
    return "http_error"


class ObservedTransport(httpx.AsyncBaseTransport):
    """Wrap an httpx transport; note each attempt's outcome on the current :class:`AttemptLog`."""

    def __init__(self, inner: httpx.AsyncBaseTransport):
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempts = CURRENT_LOG.get()
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TimeoutException:
            if attempts is not None:
                attempts.calls.append("timeout")
            raise
        except httpx.TransportError:
            if attempts is not None:
                attempts.calls.append("connection")
            raise
        if attempts is not None:
            attempts.calls.append(status_reason(response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# ------------------------------------------------------------------------------------ the model

def response_format(mode: str, name: str, json_schema: dict[str, Any], strict: bool) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema, "strict": strict}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def structured_model(chat: Any, mode: str, name: str, json_schema: dict[str, Any], *, strict: bool,
                     temperature: float, max_tokens: int) -> Any:
    """A runnable ``messages -> {"raw": AIMessage, ...}`` asking ``chat`` for ``json_schema``'s JSON.

    ``mode``: ``json_schema`` (the server constrains the answer to the schema), ``json_object`` (JSON mode:
    the schema goes into the system message, see :func:`schema_note`) or ``none`` (prompt only)."""
    from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel
    from langchain_openai import ChatOpenAI

    note: Runnable = RunnableLambda(lambda msgs: schema_note(msgs, json_schema), name="schema in the system message")
    if isinstance(chat, ChatOpenAI):
        if mode == "json_schema":
            return chat.with_structured_output({"name": name, "schema": json_schema, "strict": strict},
                                               method="json_schema", include_raw=True, temperature=temperature,
                                               max_tokens=max_tokens)
        if mode == "json_object":
            return note | chat.with_structured_output(None, method="json_mode", include_raw=True,
                                                      temperature=temperature, max_tokens=max_tokens)
        return note | RunnableParallel(raw=chat.bind(temperature=temperature, max_tokens=max_tokens))
    rf = response_format(mode, name, json_schema, strict)
    bound = chat.bind(temperature=temperature, max_tokens=max_tokens, **({"response_format": rf} if rf else {}))
    return RunnableParallel(raw=bound) if mode == "json_schema" else note | RunnableParallel(raw=bound)


def schema_note(messages: list, json_schema: dict[str, Any]) -> list:
    """``messages`` with the JSON schema appended to the system message (or a system message added)."""
    from langchain_core.messages import SystemMessage

    note = ("Answer with one JSON object only (no prose, no code fences) that follows this JSON schema:\n"
            + json.dumps(json_schema, ensure_ascii=False))
    if messages and isinstance(messages[0], SystemMessage):
        return [SystemMessage(content=f"{messages[0].content}\n\n{note}"), *messages[1:]]
    return [SystemMessage(content=note), *messages]


def answer_parts(message: Any) -> tuple[str, str | None, tuple[int, int]]:
    """``(text, finish_reason, (prompt_tokens, completion_tokens))`` of an ``AIMessage``."""
    content = message.content
    if isinstance(content, list):
        content = "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    meta = getattr(message, "response_metadata", None) or {}
    um = getattr(message, "usage_metadata", None) or {}
    return (str(content), meta.get("finish_reason"),
            (int(um.get("input_tokens") or 0), int(um.get("output_tokens") or 0)))


# ------------------------------------------------------------------------------------ validation

def validate_answer(schema: type[BaseModel], content: str, finish: str | None, max_tokens: int,
                    usage: tuple[int, int] = (0, 0)) -> BaseModel:
    """Parse and validate one answer's text; :class:`AnswerFailure` with the reason otherwise."""
    raw = content[:_RAW_CHARS]
    text = content.strip()
    if not text:
        if finish == "length":
            raise AnswerFailure("truncated", f"empty answer cut at max_tokens={max_tokens}", raw=raw, usage=usage)
        raise AnswerFailure("empty_answer", "the server answered with no content", raw=raw, usage=usage)
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if finish == "length":
            raise AnswerFailure("truncated", f"the answer hit max_tokens={max_tokens} before the JSON was "
                                             f"complete ({len(content)} chars); raise max_tokens or ask for less",
                                raw=raw, usage=usage) from None
        raise AnswerFailure("invalid_json", f"not JSON ({e.msg} at char {e.pos})", raw=raw, usage=usage) from None
    except RecursionError:
        raise AnswerFailure("invalid_json", f"JSON nested too deeply to read ({len(content)} chars)", raw=raw,
                            usage=usage) from None
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(map(str, x['loc'])) or '<root>'}: {x['msg']}" for x in e.errors()[:3])
        raise AnswerFailure("schema_violation", f"{plural(e.error_count(), 'error')}: {errs}", raw=raw,
                            usage=usage) from None
    except RecursionError:
        raise AnswerFailure("schema_violation", "the answer is nested too deeply to validate", raw=raw,
                            usage=usage) from None


# ------------------------------------------------------------------------------------ failures

def classify_error(e: BaseException, *, json_schema_mode: bool = False, answered: bool = False) -> LLMFailure:
    """Map an exception of a model call to a :class:`LLMFailure` with the project's reason.

    ``json_schema_mode``: the call asked for ``json_schema``; an HTTP 400 that names the response format
    is then :class:`FormatRefused`. ``answered``: the call's last HTTP attempt got a 2xx answer; an error
    that is not the SDK's or LangChain's then means the body was not a chat completion (``bad_response``)."""
    import openai
    from langchain_core import exceptions as lc

    if isinstance(e, LLMFailure):
        return e
    if isinstance(e, openai.LengthFinishReasonError):  # the SDK's parse path refuses answers cut by max_tokens
        raw, usage = _completion_parts(getattr(e, "completion", None))
        return AnswerFailure("truncated", "the answer hit max_tokens before it was complete; raise max_tokens or "
                                          "ask for less", raw=raw, usage=usage)
    if isinstance(e, openai.ContentFilterFinishReasonError | lc.ModelRefusalError):
        return AnswerFailure("empty_answer", f"the model gave no answer ({type(e).__name__}: {str(e)[:200]})")
    if isinstance(e, openai.APITimeoutError | lc.ModelTimeoutError):
        return LLMFailure("timeout", f"the server did not answer in time ({e}); {TIMEOUT_FIX}")
    if isinstance(e, openai.RateLimitError | lc.ModelRateLimitError):
        ra = retry_after(getattr(getattr(e, "response", None), "headers", None))
        return LLMFailure("rate_limited", f"HTTP 429 (Retry-After {ra if ra is not None else '-'} s): {_msg(e)}")
    if isinstance(e, openai.APIStatusError):
        code = e.status_code
        if code >= 500 or code in (408, 409):
            return LLMFailure("server_error", f"HTTP {code}: {_msg(e)}")
        if code == 400 and json_schema_mode and _FORMAT_REFUSAL.search(_msg(e)):
            return FormatRefused("http_error", f"HTTP {code}: {_msg(e)}")
        return LLMFailure("http_error", f"HTTP {code}: {_msg(e)}")
    if isinstance(e, openai.APIConnectionError | lc.ModelConnectionError):
        cause = e.__cause__ or e.__context__
        return LLMFailure("connection", f"{e}" + (f" ({type(cause).__name__}: {cause})" if cause else ""))
    if isinstance(e, httpx.TimeoutException):
        return LLMFailure("timeout", f"{e}; {TIMEOUT_FIX}")
    if isinstance(e, httpx.TransportError):
        return LLMFailure("connection", f"{type(e).__name__}: {e}")
    if isinstance(e, openai.APIResponseValidationError) or (answered and not isinstance(e, openai.OpenAIError)):
        log.debug("the answer is not a chat completion", exc_info=e)
        return AnswerFailure("bad_response", f"the server answered without a chat completion "
                                             f"({type(e).__name__}: {str(e)[:300]})")
    log.warning("unexpected error from the chat model", exc_info=e)
    return LLMFailure("unexpected", f"{type(e).__name__}: {e}")


def _completion_parts(completion: Any) -> tuple[str | None, tuple[int, int]]:
    if completion is None:
        return None, (0, 0)
    raw = None
    try:
        raw = completion.choices[0].message.content
    except (AttributeError, IndexError):
        pass
    u = getattr(completion, "usage", None)
    usage = (int(getattr(u, "prompt_tokens", 0) or 0), int(getattr(u, "completion_tokens", 0) or 0))
    return (raw[:_RAW_CHARS] if isinstance(raw, str) else None), usage


def retry_after(headers: Any) -> float | None:
    """Seconds a ``Retry-After`` / ``retry-after-ms`` header asks for (for messages; the SDK honours it)."""
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
            return max(0.0, email.utils.parsedate_to_datetime(v).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _msg(e: BaseException) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(getattr(e, "message", e))[:300]


# ------------------------------------------------------------------------------------ schemas

def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref``s (``#/$defs/X``) by their definitions: some servers' grammar builders
    (llama.cpp, vLLM) do not follow references. Recursive definitions are left as references."""
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
