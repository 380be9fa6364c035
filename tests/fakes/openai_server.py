"""A tiny OpenAI-compatible chat-completions server whose behaviour per request is scriptable.

It listens on 127.0.0.1 (a random free port by default), threaded, HTTP/1.1 keep-alive, and answers
``POST /v1/chat/completions``, ``GET /v1/models`` and ``GET /health``. Each request is answered by the
first matching scripted :class:`Reply` (consumed once), else by the default responder.

Faults it can play: HTTP 500/503, 429 with ``Retry-After``, a slow answer (client timeout), a dropped
connection, a truncated HTTP body, truncated JSON content, content that violates the schema, an
answer cut by ``max_tokens`` (``finish_reason = "length"``), a huge answer and an endless trickle.

Example::

    with FakeOpenAIServer(default=json_reply({"answer": "ok"})) as srv:
        srv.script(server_error(500), match="item-3")   # the first request mentioning item-3 fails
        client = ...(base_url=srv.base_url)

Run standalone (used by ``bench/llm_client.py`` so the server does not share the client's GIL)::

    python tests/fakes/openai_server.py --port 0 --content '{"answer": "ok"}'   # prints "READY <port>"
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """How to answer one request.

    kind: ``content`` (a normal completion), ``status`` (an HTTP error with a JSON error body),
    ``raw`` (``content`` sent as the whole body, with ``status``), ``drop`` (close without answering),
    ``truncated_body`` (Content-Length larger than what is sent), ``endless`` (chunked whitespace until
    the client goes away).
    """

    kind: str = "content"
    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    finish_reason: str = "stop"
    prompt_tokens: int = 20
    completion_tokens: int = 10


Responder = Reply | Callable[[dict], Reply]


def ok(content: str, **kw) -> Reply:
    return Reply("content", content=content, **kw)


def json_reply(obj, **kw) -> Reply:
    return ok(json.dumps(obj), **kw)


def server_error(status: int = 500) -> Reply:
    return Reply("status", status=status, content=f"fake server error {status}")


def rate_limited(retry_after_s: float = 1.0) -> Reply:
    return Reply("status", status=429, content="rate limited", headers={"Retry-After": f"{retry_after_s:g}"})


def slow(delay_s: float, reply: Reply | None = None) -> Reply:
    r = reply or ok("{}")
    return Reply(r.kind, r.content, r.status, dict(r.headers), delay_s, r.finish_reason)


def drop() -> Reply:
    return Reply("drop")


def truncated_body() -> Reply:
    return Reply("truncated_body")


def truncated_json(obj, *, cut: int = 7, finish_reason: str = "stop") -> Reply:
    text = json.dumps(obj)
    return ok(text[: max(1, len(text) - cut)], finish_reason=finish_reason)


def huge(n_chars: int = 2_000_000) -> Reply:
    """A very long answer that was cut by max_tokens: ``{"points": [{"value": "aaaa…`` (never closed)."""
    return ok('{"points": [{"type": "Others", "value": "' + "a" * n_chars, finish_reason="length",
              completion_tokens=n_chars // 4)


def endless() -> Reply:
    return Reply("endless")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/health", "/v1/health"):
            self._send(200, b'{"status":"ok"}')
        elif self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, json.dumps({"object": "list", "data": [
                {"id": self.server.owner.model, "object": "model", "owned_by": "fake"}]}).encode())
        else:
            self._send(404, b'{"error":{"message":"not found"}}')

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, b'{"error":{"message":"not found"}}')
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, b'{"error":{"message":"request body is not JSON"}}')
            return
        owner = self.server.owner
        reply = owner._next_reply(body)
        owner._enter()
        try:
            if reply.delay_s and owner._stopping.wait(reply.delay_s):
                return
            self._answer(reply, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            owner._leave()

    def _answer(self, reply: Reply, body: dict) -> None:
        owner = self.server.owner
        if reply.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.kind == "status":
            err = {"error": {"message": reply.content, "type": "fake_error", "code": reply.status}}
            self._send(reply.status, json.dumps(err).encode(), reply.headers)
            return
        if reply.kind == "raw":
            self._send(reply.status, reply.content.encode(), reply.headers)
            return
        if reply.kind == "truncated_body":
            payload = owner._completion(body, '{"answer": "never finished"}', "stop", 20, 10)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload) + 500))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.kind == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            deadline = time.monotonic() + owner.endless_cap_s
            while not owner._stopping.is_set() and time.monotonic() < deadline:
                self.wfile.write(b"1\r\n \r\n")
                self.wfile.flush()
                time.sleep(0.02)
            self.close_connection = True
            return
        payload = owner._completion(body, reply.content, reply.finish_reason, reply.prompt_tokens,
                                    reply.completion_tokens)
        self._send(200, payload, reply.headers)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    owner: FakeOpenAIServer


class FakeOpenAIServer:
    """The scriptable server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    Args:
        default: reply (or ``f(request_json) -> Reply``) for requests no script matches.
        port: 0 picks a free port.
        record: keep every request body in :attr:`requests` (turn off for benchmarks).
        model: the id ``/v1/models`` lists.
    """

    def __init__(self, default: Responder | None = None, *, port: int = 0, record: bool = True,
                 model: str = "fake-model", endless_cap_s: float = 120.0):
        self.default: Responder = default or json_reply({})
        self.record = record
        self.model = model
        self.endless_cap_s = endless_cap_s
        self.requests: list[dict] = []
        self._count = 0
        self._in_flight = 0
        self.max_in_flight = 0
        self._rules: list[tuple[str | None, deque[Reply]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def calls(self) -> int:
        """Chat-completion requests received so far."""
        with self._lock:
            return self._count

    def script(self, *replies: Reply, match: str | None = None) -> FakeOpenAIServer:
        """Answer the next requests whose last user message contains ``match`` (any if None) with
        ``replies``, one each, in order. Earlier scripts are tried first."""
        with self._lock:
            self._rules.append((match, deque(replies)))
        return self

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()
            self._count = 0
            self.max_in_flight = 0

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_reply(self, body: dict) -> Reply:
        text = _last_user_text(body)
        with self._lock:
            self._count += 1
            if self.record:
                self.requests.append(body)
            for match, replies in self._rules:
                if replies and (match is None or match in text):
                    return replies.popleft()
        d = self.default
        return d(body) if callable(d) else d

    def _completion(self, body: dict, content: str, finish_reason: str, pt: int, ct: int) -> bytes:
        return json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        }).encode()

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-openai")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _last_user_text(body: dict) -> str:
    for m in reversed(body.get("messages") or []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return " ".join(str(p.get("text", "")) for p in c if isinstance(p, dict))
            return str(c or "")
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--content", default="{}", help="assistant content of every answer (zero latency)")
    args = ap.parse_args()
    srv = FakeOpenAIServer(ok(args.content), port=args.port, record=False).start()
    print(f"READY {srv.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
