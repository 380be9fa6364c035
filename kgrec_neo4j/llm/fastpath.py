"""A lighter ``chat.completions`` resource for ``ChatOpenAI``: same endpoint, same OpenAI client.

``ChatOpenAI`` calls ``self.async_client.with_raw_response.create(**payload)`` and hands the parsed
response to ``_create_chat_result``, which accepts a plain dict. The OpenAI SDK's ``create`` first runs a
recursive TypedDict transform over the request body (the messages, the JSON schema) and afterwards
builds pydantic models of the response; LangChain then dumps those models back to a dict. For plain
JSON bodies the transform changes nothing. Profiled with 32 requests in flight against the
zero-latency fake server (``bench/llm_client.py``), the transform alone was about a quarter of the
client's CPU per call.

:class:`FastCompletions` posts the payload through the same ``AsyncOpenAI`` client (base URL, API key,
headers, timeouts, and its HTTP-status exceptions: ``RateLimitError``, ``InternalServerError``, ...), and
returns the JSON dict. Everything ChatOpenAI does with messages, usage and metadata is unchanged.
"""

from __future__ import annotations

from typing import Any

import httpx


class BadResponse(Exception):
    """The server answered 2xx with a body that is not a chat completion."""


class _RawResponse:
    def __init__(self, data: dict[str, Any], http_response: Any):
        self._data = data
        self.http_response = http_response
        self.headers = http_response.headers

    def parse(self) -> dict[str, Any]:
        return self._data


class _WithRawResponse:
    def __init__(self, root: Any):
        self._root = root

    async def create(self, **payload: Any) -> _RawResponse:
        extra_body = payload.pop("extra_body", None) or {}
        extra_headers = payload.pop("extra_headers", None)
        extra_query = payload.pop("extra_query", None)
        timeout = payload.pop("timeout", None)
        body = {k: v for k, v in payload.items() if v is not None}
        body.update(extra_body)
        options: dict[str, Any] = {}
        if extra_headers:
            options["headers"] = extra_headers
        if extra_query:
            options["params"] = extra_query
        if timeout is not None:
            options["timeout"] = timeout
        resp = await self._root.post("/chat/completions", body=body, cast_to=httpx.Response, options=options)
        try:
            data = resp.json()
        except ValueError:
            raise BadResponse(f"HTTP {resp.status_code} with a body that is not JSON: {resp.text[:200]!r}") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise BadResponse(f"HTTP {resp.status_code} without choices: {str(data)[:200]!r}")
        return _RawResponse(data, resp)


class FastCompletions:
    """Stands in for ``AsyncOpenAI().chat.completions`` inside ``ChatOpenAI`` (non-streaming calls)."""

    def __init__(self, root_async_client: Any):
        self._root = root_async_client
        self.with_raw_response = _WithRawResponse(root_async_client)

    async def create(self, **payload: Any) -> dict[str, Any]:
        return (await self.with_raw_response.create(**payload)).parse()

    def __getattr__(self, name: str) -> Any:  # anything else: the SDK's own resource
        return getattr(self._root.chat.completions, name)


def install(chat_model: Any) -> bool:
    """Give a built ``ChatOpenAI`` the fast resource; False if it does not look like one."""
    root = getattr(chat_model, "root_async_client", None)
    if root is None or not hasattr(root, "post"):
        return False
    chat_model.async_client = FastCompletions(root)
    return True
