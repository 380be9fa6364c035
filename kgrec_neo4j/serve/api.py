"""``kgrec serve``: recommendations and explanations over HTTP (JSON), from the live graph.

Routes (every answer names the run it came from):

``GET /health``
    ``{"status": "ok", "run", "version", "current_run", "neo4j", "switches"}`` (docs/serving.md says what each
    holds); 503 while Neo4j is unreachable or no run is current.
``GET /users/{user}/recommendations?k=10&explain=false&allow_repeats=false&paths=3&same_work=demote``
    the user's top-k from the user's edges as they are now (:func:`~kgrec_neo4j.serve.recommend.recommend_users`);
    ``explain=true`` takes k <= 100 (400 above: each explained item costs its paths; a query that outgrows the
    memory Neo4j gives a transaction is 503 saying so, never "unreachable").
``GET /users/{user}/items/{item}/explanation?k=10&paths=5&same_work=demote``
    why, or why not, the item is recommended to the user (:func:`~kgrec_neo4j.serve.explain.explain`); its rank is
    its place in the list the recommendations route gives with the same ``same_work``.
``POST /recommendations`` with ``{"history": [item id, or {"item": ..., "rating": ...}, ...], "k": 10,
"allow_repeats": false, "same_work": ...}``
    a visitor who is no user of the graph (an anonymous session), scored from the history in the body as a user
    with those interactions would be (:func:`~kgrec_neo4j.serve.recommend.recommend_session`); a read: it needs no
    ``writes``, and nothing is written.
``POST /users/{user}/interactions`` with ``{"item": ..., "rating": 5, "timestamp": ..., "review_title": ...,
"review_text": ...}`` (all but ``item`` optional; only with ``writes=True``, ``kgrec serve --writes``, which needs the token)
    records an interaction (:func:`~kgrec_neo4j.serve.record.record_interaction`): 201 with its ``seq``, 200 when a
    retry with the same ``timestamp`` found it recorded already; the user's next recommendation counts it. A new user
    is created; an unknown item is 404, a user of another dataset than the item 409; 403 on a read-only service.
``POST /items`` with ``{"id": ..., "dataset": ..., "title": ..., "description": [...], "features": [...],
"categories": [...], "brand": ...}`` (only with ``writes=True``)
    adds an item to a stored dataset, or changes the text fields the record has
    (:func:`~kgrec_neo4j.serve.record.record_item`): 201 for a new item, 200 otherwise (``written: false`` when its
    text is as stored); the next ``kgrec update`` extracts it and folds it into the run. 404 for a dataset not
    stored, 409 for an item of another dataset.

Errors are JSON ``{"error": ..., "field": ...}``: 400 for a malformed request (naming the field), 401 without the
token, 403 for a write to a read-only service, 413 for a body over :data:`MAX_BODY_BYTES`,
404 for an unknown user or item (or an item the run has no vector
for), 409 for a user and an item of two datasets, 503 while Neo4j is down or no model run can be served, or for
an explanation of an item that ``kgrec update`` folded into the run while the service loads that version (the
service recovers by itself when Neo4j is back; transactions are retried for a few seconds only, so a request fails
fast).

The service loads the current run's model once (all item vectors, item links, every trained user's own
embedding) and keeps answering with it; a background watcher notices a new current run, or a new version of the
current run (``kgrec update`` folded new items into it), loads it, and switches to it between two requests: no
request is dropped and none mixes two runs. Each request reads the user's live edges
(one Cypher round trip), so an interaction committed by any client changes the very next answer.

It binds to 127.0.0.1 unless told otherwise; binding anywhere else, or writing (``--writes``), requires a token in
``KGREC_SERVE_TOKEN``, which every request then sends as ``Authorization: Bearer <token>``; it is checked before
the request's body or parameters are read (401 whatever they hold), on every route but /health, /openapi.json and
/docs.
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from ..core.config import Settings
from ..core.db import Database, connect
from ..core.errors import ConfigError, CredentialsRefused, KgrecError, ModelError, Neo4jUnavailable
from ..load.read import MAX_LINE_BYTES
from .explain import MAX_EXPLAINED, ExplainError, NotScoredYet, explain
from .recommend import SessionIn, recommend_session, recommend_users
from .record import (
    DatasetClash,
    InteractionClash,
    InteractionIn,
    ItemIn,
    UnknownDataset,
    UnknownItem,
    record_interaction,
    record_item,
)
from .scoring import RecommendError, RunModel, UnknownItems, UnknownUser, current_run, current_run_version, run_model

log = logging.getLogger(__name__)

TOKEN_ENV = "KGREC_SERVE_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_K = 1000


class ServiceState:
    """The service's connection and the run it answers with, switched by a background watcher.

    Args:
        settings: where Neo4j is.
        poll_s: how often the watcher asks which run is current.
        retry_window_s: the connection's retry window for one request's transaction (:meth:`Database._run`): a
            lost server is looked for once a second and a transient error tried again after growing pauses, while
            less than this has passed; then a 503 (2 s: about 2-3 s after the first failure).
    """

    def __init__(self, settings: Settings, *, poll_s: float = 2.0, retry_window_s: float = 2.0) -> None:
        self.settings = settings
        self.poll_s = poll_s
        self.retry_window_s = retry_window_s
        self._db: Database | None = None
        self._lock = threading.Lock()
        self.model: RunModel | None = None
        self.last_error: str | None = None
        self.unservable: str | None = None  # why no run can be served, as the watcher last found (none current)
        self.switches = 0
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._refused: tuple[float, CredentialsRefused] | None = None
        self.refused_wait_s = 60.0

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def db(self) -> Database:
        with self._lock:
            if self._db is None:
                # refused credentials are not tried again for a while: each failed login extends the server's lock
                # on the user's logins, which locks every other client of the user out too
                if self._refused is not None and time.monotonic() - self._refused[0] < self.refused_wait_s:
                    raise self._refused[1]
                try:
                    self._db = connect(self.settings, retry_window_s=self.retry_window_s)
                except CredentialsRefused as e:
                    self._refused = (time.monotonic(), e)
                    raise
                self._refused = None
            return self._db

    def start(self) -> None:
        """Load the current run (Neo4j down, or no run yet: the service starts anyway and says so on /health).

        Raises:
            CredentialsRefused: Neo4j refused the login; a service retrying it would lock the user's other
                clients out."""
        try:
            self.refresh()
        except CredentialsRefused:
            raise
        except Exception as e:  # noqa: BLE001 - the service starts anyway and reports it on /health
            self.last_error = _describe(e)
            log.warning("no model to serve yet: %s", self.last_error)
        self._watcher = threading.Thread(target=self._watch, name="kgrec-run-watcher", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.refresh()
                self.last_error = None
            except Exception as e:  # noqa: BLE001 - keep watching; requests report their own errors
                self.last_error = _describe(e)
                log.debug("run watcher: %s", self.last_error)

    def refresh(self) -> RunModel:
        """Load the current run's model when it is not the one answering (another run, or a new version of it after
        ``kgrec update`` folded items in), then switch to it."""
        try:
            run, version = current_run_version(self.db)
        except RecommendError as e:  # no run is current (the database cleared, the runs deleted), or several are
            self.unservable = str(e)
            raise
        m = self.model
        if m is not None and m.run == run and m.version == version:
            self.unservable = None
            return m
        t0 = time.perf_counter()
        new = run_model(self.db, run, preload_users=True, refresh=m is not None and m.run == run)
        self.model = new  # one assignment: a request uses either the old model or the new one, whole
        self.unservable = None  # (only now: while a run became current again and loads, the old one stays refused)
        self.switches += 1
        log.info("serving run %s version %d (loaded in %.1fs)", run, new.version, time.perf_counter() - t0)
        return new

    def serving_model(self) -> RunModel:
        """The model requests are answered with; RecommendError (503) while the watcher finds no run to serve: the
        model in memory is of a run the graph no longer holds as current, and its explanations' paths may be gone."""
        if self.unservable is not None:
            raise RecommendError(self.unservable + (f" (this service answered with run {self.model.run} until then)"
                                                    if self.model else ""))
        return self.model if self.model is not None else self.refresh()


def _describe(e: Exception) -> str:
    return f"{type(e).__name__}: {e}" if not isinstance(e, KgrecError) else str(e)


class BadRequest(KgrecError):
    """A request the service will not answer as asked (400), naming the field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _out_of_memory(e: Exception) -> bool:
    """Neo4j refused a query that outgrew the memory it gives transactions (a TransientError, but no outage)."""
    return "MemoryPoolOutOfMemoryError" in str(getattr(e, "code", "") or "") + str(e)


def _neo4j_down(e: Exception) -> bool:
    from neo4j.exceptions import DriverError, ServiceUnavailable, SessionExpired, TransientError

    return not _out_of_memory(e) and isinstance(
        e, ServiceUnavailable | SessionExpired | TransientError | Neo4jUnavailable | DriverError | OSError)

def _whole_body_problem(content_type: str | None, body: Any) -> str:
    """What is wrong with a body that is not a JSON object: sent without the JSON content type (FastAPI then does not
    parse it: text/plain, a form, none), or valid JSON of another kind (a list, a string)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        sent = f"as {kind}" if kind else "without a Content-Type"
        return (f"the request body was sent {sent}, which this service does not read: send a JSON object with "
                "Content-Type: application/json")
    what = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(body), "null" if body is None else "not an object")
    return f"the request body is {what}: send one JSON object (one record per request)"



def create_app(state: ServiceState, *, token: str | None = None, writes: bool = False) -> Any:
    """The FastAPI application over ``state``; ``token`` (when set) is required on every route but /health;
    ``writes``: interactions and items may be recorded (``POST /users/{user}/interactions``, ``POST /items``), else
    those routes are 403; a writing service needs a token.

    Raises:
        ConfigError: ``writes`` without ``token``."""
    token = _clean_token(token)
    if writes and not token:
        raise ConfigError(f"a service that writes to the graph needs a token (set {TOKEN_ENV})")
    from fastapi import Depends, FastAPI, Query, Request, Security
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    error_body = {"description": 'an error: {"error": message, "field": the field at fault, when one is} (400 for a '
                                 'malformed request, never 422)',
                  "content": {"application/json": {"schema": {
                      "type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}}}}
    # (a 4XX response in the description keeps FastAPI from listing its 422, which this service never answers)
    app = FastAPI(title="kgrec-neo4j", summary="Recommendations explained by paths in a Neo4j knowledge graph",
                  version="1", responses={"4XX": error_body})

    def error(status: int, message: str, field: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {"error": message}
        if field:
            body["field"] = field
        return JSONResponse(status_code=status, content=body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Any, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))  # (401 without the token, an unknown route) as every error

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Any, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":  # its loc is a character position, not a field
            detail = (first.get("ctx") or {}).get("error")
            return error(400, "the request body is not valid JSON" + (f" ({detail})" if detail else "")
                         + ": send a JSON object with Content-Type: application/json")
        if tuple(first.get("loc", ())) == ("body",):  # the body as a whole: none, not read as JSON, or not an object
            if first.get("type") == "missing":
                return error(400, "the request body is empty: send a JSON object with Content-Type: application/json")
            return error(400, _whole_body_problem(request.headers.get("content-type"), first.get("input")))
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        if first.get("type") == "extra_forbidden":
            return error(400, f"{field}: not a field of this request (misspelled?)", field)
        return error(400, f"{field or 'request'}: {first.get('msg', 'invalid value')}", field)

    async def failure(_request: Any, exc: Exception) -> JSONResponse:
        if isinstance(exc, UnknownUser):  # (its message names the CLI's ways to add a user; this is the service's)
            return error(404, f"{exc} Over this service a user is added by its first interaction, POST "
                              "/users/{user}/interactions" + ("." if writes else " (on a service started with "
                                                                                "`kgrec serve --writes`)."))
        if isinstance(exc, ExplainError | UnknownItem | UnknownDataset | UnknownItems):
            return error(404, str(exc))
        if isinstance(exc, DatasetClash | InteractionClash):
            return error(409, str(exc), exc.field)
        if _out_of_memory(exc):  # (a retry fails the same way: say what to ask for instead)
            return error(503, "the request needed more memory than Neo4j gives a transaction "
                              "(dbms.memory.transaction.total.max): ask for fewer items (a smaller k) or fewer "
                              f"paths, or raise that setting ({_describe(exc)[:300]})")
        if _neo4j_down(exc):
            # (a lost server's message tells an operator to start it: a client of the service is told to retry;
            # refused credentials or an unknown database keep their message: retrying does not help there)
            why = type(exc).__name__ if type(exc) is Neo4jUnavailable else _describe(exc)
            return error(503, f"Neo4j is unreachable ({why}); retry shortly")
        if isinstance(exc, RecommendError | ModelError):
            return error(503, str(exc))
        if isinstance(exc, KgrecError):
            return error(400, str(exc), getattr(exc, "field", None))
        log.error("request failed", exc_info=exc)
        return error(500, f"internal error: {type(exc).__name__}")

    # handlers by class are answered without re-raising (a handler for Exception itself would re-raise)
    from neo4j.exceptions import DriverError, Neo4jError

    for cls in (KgrecError, DriverError, Neo4jError, OSError, RuntimeError, ValueError):
        app.add_exception_handler(cls, failure)

    def known_params(*names: str) -> Any:
        """A dependency refusing a query parameter the route does not know: a misspelled ``explain`` or ``k`` would
        otherwise be ignored and the default answered, as a misspelled body field would be written without it."""
        def check(request: Request) -> None:
            for name, value in request.path_params.items():  # (`/users/%20/...` was a 404 "unknown user(s): ' '")
                if not str(value).strip():
                    raise BadRequest(f"the {name} id in the path is blank: it must have a character that is not a "
                                     f"space (as `kgrec load` requires)", field=name)
            unknown = sorted(set(request.query_params) - set(names))
            if unknown:
                raise RequestValidationError([{"type": "extra_forbidden", "loc": ("query", unknown[0]),
                                               "msg": "Extra inputs are not permitted", "input": None}])
        check.__annotations__["request"] = Request  # the class itself: the string would not resolve (a local import)
        return Depends(check)

    write_routes = frozenset({"/users/{user}/interactions", "/items"})

    def refusal(scope: Any) -> JSONResponse | None:
        """The token, then a write to a read-only service, before anything else is read: FastAPI parses a body
        before a route's dependencies run, so a request without the token was told its JSON was invalid (400), and
        a read-only service answered a write it would refuse whatever it held with that 400 too."""
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        if token is not None and scope["path"] not in OPEN_PATHS \
                and not _token_matches(headers.get("authorization"), token):
            return error(401, "a valid token is required (Authorization: Bearer <token>)")
        if not writes and scope["method"] == "POST" and _route_of(app, scope) in write_routes:
            return error(403, "this service is read-only: start it with `kgrec serve --writes` to record "
                              "interactions and items")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return error(413, TOO_LARGE)
        return None

    app.add_middleware(_Gate, refusal=refusal)

    # the bearer scheme in /openapi.json (and the /docs page's Authorize button); `refusal` above checks it
    from fastapi.security import HTTPBearer

    authorised = HTTPBearer(auto_error=False, description="KGREC_SERVE_TOKEN, where the service has one")

    # the routes that answer a JSONResponse say response_model=None: their return annotation is a string here (a local
    # import under `from __future__ import annotations`) that FastAPI cannot resolve, and took for a response model
    # that /openapi.json (and so /docs) failed on with a 500
    @app.get("/health", response_model=None)
    def health() -> JSONResponse:
        m = state.model
        try:
            run = current_run(state.db)
            ok = m is not None and m.run == run
            body = {"status": "ok" if ok else "loading", "run": m.run if m else None,
                    "version": m.version if m else None, "current_run": run,
                    "neo4j": True, "switches": state.switches}
            return JSONResponse(status_code=200 if ok else 503, content=body)
        except Exception as e:  # noqa: BLE001
            return JSONResponse(status_code=503, content={"status": "unavailable", "run": m.run if m else None,
                                                          "neo4j": not _neo4j_down(e), "error": _describe(e)})

    @app.get("/users/{user}/recommendations",
             dependencies=[Security(authorised), known_params("k", "explain", "allow_repeats", "paths", "same_work")])
    def recommendations(user: str, k: int = Query(10, ge=1, le=MAX_K), explain: bool = False,
                        allow_repeats: bool = False, paths: int = Query(3, ge=1, le=20),
                        same_work: Literal["demote", "group", "keep"] | None = None) -> dict[str, Any]:
        if explain and k > MAX_EXPLAINED:
            raise BadRequest(f"explain=true explains at most {MAX_EXPLAINED} items (got k={k}): ask for k <= "
                                      f"{MAX_EXPLAINED}, or for one item's explanation with GET "
                                      "/users/{user}/items/{item}/explanation", field="k")
        m = state.serving_model()
        rec = recommend_users(state.db, [user], k, store=False, explain=explain, per_item=paths, run=m.run,
                              allow_repeats=allow_repeats, same_work=same_work)[0]
        return rec.model_dump()

    @app.post("/recommendations", dependencies=[Security(authorised), known_params()])
    def session_recommendations(body: SessionIn) -> dict[str, Any]:
        # (a read: a visitor who is no user of the graph, scored from the history in the body; nothing is written)
        m = state.serving_model()
        rec = recommend_session(state.db, body.pairs(), body.k, run=m.run, allow_repeats=body.allow_repeats,
                                same_work=body.same_work)
        return rec.model_dump()

    @app.get("/users/{user}/items/{item}/explanation",
             dependencies=[Security(authorised), known_params("k", "paths", "same_work")])
    def explanation(user: str, item: str, k: int = Query(10, ge=1, le=MAX_K),
                    paths: int = Query(5, ge=1, le=50),
                    same_work: Literal["demote", "group", "keep"] | None = None) -> dict[str, Any]:
        m = state.serving_model()
        try:
            return explain(state.db, user, item, k=k, per_item=paths, run=m.run, same_work=same_work).model_dump()
        except NotScoredYet:
            run, version = current_run_version(state.db)
            if run != m.run or version == m.version:
                raise
            # `kgrec update` folded items into the run since this model was loaded: the watcher is loading them
            raise RecommendError(f"item {item!r} has no vector in version {m.version} of run {run!r}, which this "
                                 f"service answers with while it loads version {version} (items `kgrec update` "
                                 f"folded in); retry in a few seconds") from None

    @app.post("/users/{user}/interactions", dependencies=[Security(authorised), known_params()],
              response_model=None)
    def record(user: str, body: InteractionIn) -> JSONResponse:
        rec = record_interaction(state.db, user, body)
        return JSONResponse(status_code=201 if rec.written else 200, content=rec.model_dump())

    @app.post("/items", dependencies=[Security(authorised), known_params()], response_model=None)
    def add_item(body: ItemIn) -> JSONResponse:
        rec = record_item(state.db, body)
        return JSONResponse(status_code=201 if rec.new_item else 200, content=rec.model_dump())

    return app


class _Gate:
    """ASGI middleware: an HTTP request ``refusal(scope)`` answers (a response) gets that answer before the app reads
    anything of it; any other goes on to the app. (Plain ASGI: Starlette's BaseHTTPMiddleware would wrap every
    answer in a stream.)"""

    def __init__(self, app: Any, refusal: Callable[[Any], Any]) -> None:
        self.app, self.refusal = app, refusal

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer = self.refusal(scope)
        if answer is not None:
            await answer(scope, receive, send)
            return
        read = 0

        async def receive_counted() -> Any:
            """The body's parts until they pass MAX_BODY_BYTES (a body sent without its length): then a 413, which
            FastAPI passes on from its read of the body to the handler of every HTTP error."""
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > MAX_BODY_BYTES:
                from starlette.exceptions import HTTPException

                raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, receive_counted, send)


MAX_BODY_BYTES = 6 * MAX_LINE_BYTES
TOO_LARGE = (f"the request body is over {MAX_BODY_BYTES:,} bytes: an item record may hold {MAX_LINE_BYTES:,} bytes "
             f"of JSON, as a line of kgrec load")
"""The largest request body read (413 beyond it, before it is parsed): a record ``kgrec load`` takes (1 MB of JSON,
checked on the record itself) written with every character escaped as ``\\uXXXX``; a body of 200 MB was read and
parsed whole (over 1 GB of memory) before it was refused."""

OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect"})
"""What answers without the token: the health check and the routes' description (which holds no data)."""


def _token_matches(authorization: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>`` (the scheme in any case, RFC 6750) with ``token``, compared in constant
    time; a header without the scheme is refused (it was taken for the token itself)."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _route_of(app: Any, scope: Any) -> str | None:
    """The path template of the route ``scope`` (an HTTP request's) goes to, ``None`` for none."""
    from starlette.routing import Match

    for route in app.router.routes:
        if route.matches(scope)[0] == Match.FULL:
            return getattr(route, "path", None)
    return None


def _clean_token(token: str | None) -> str | None:
    """The token without the spaces around it (``None`` for a blank one), as a request's is read: a token set with a
    trailing space or newline (e.g. from an env file) could never be matched, and every request would be 401.

    Raises:
        ConfigError: a character of the token is not printable ASCII: a request's header is read as Latin-1 bytes,
            so no client could send it (every request would be 401)."""
    token = (token or "").strip() or None
    if token is not None and not all(" " <= ch <= "~" for ch in token):
        raise ConfigError(f"{TOKEN_ENV} has a character that is not printable ASCII: no request could send it in its "
                          f"Authorization header (read as Latin-1 bytes), and every request would be refused; choose "
                          f"a token of letters, digits and -._~+/ (e.g. `python -c 'import secrets; "
                          f"print(secrets.token_urlsafe(32))'`)")
    return token


def bind_token(host: str, *, writes: bool = False) -> str | None:
    """The token requests to ``host`` must send (``None`` on loopback without one, for a read-only service).

    Raises:
        ConfigError: ``host`` is not loopback, or the service writes (``writes``), and ``KGREC_SERVE_TOKEN`` is
            not set."""
    token = _clean_token(os.environ.get(TOKEN_ENV))
    if host not in LOOPBACK and not token:
        raise ConfigError(f"binding to {host} serves other machines: set {TOKEN_ENV} to a secret token first "
                          f"(requests then send `Authorization: Bearer <token>`), or bind to 127.0.0.1")
    if writes and not token:
        raise ConfigError(f"a service that writes to the graph (--writes) needs a token, as Neo4j needs a password: "
                          f"set {TOKEN_ENV} to a secret token first (requests then send `Authorization: Bearer "
                          f"<token>`)")
    return token


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, before anything is loaded (bound alone, another ``kgrec
    serve`` could bind the port too while both load, SO_REUSEADDR allowing it until one listens, and the second
    failed in uvicorn after its run was loaded).

    Raises:
        ConfigError: the address cannot be bound (the port is taken, e.g. by another ``kgrec serve``)."""
    # the family as uvicorn chooses it: IPv6 for an address with ':', else IPv4 (the resolver's first address for
    # `localhost` is ::1 where the hosts file names it for IPv6 too, and http://127.0.0.1 was then refused)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # (uvicorn's backlog; connections wait in it until the run is loaded)
    except socket.gaierror as e:  # (an unknown host name: no port to change)
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e} (check --host)") from None
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e} (another `kgrec serve`?); choose "
                          f"another --port") from None
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, poll_s: float = 2.0,
          log_level: str = "warning", writes: bool = False, on_listen: Callable[[], None] | None = None) -> None:
    """Run the service until interrupted (uvicorn, one process, requests on a thread pool).

    The address is bound first (:func:`listen`): a port that is taken is refused before the run is loaded;
    ``on_listen`` is called once it is bound and the run loaded (or Neo4j found down: the service starts and
    recovers with it). Credentials that Neo4j refuses stop it before that (:class:`CredentialsRefused`): a service
    that kept logging in with them would lock every other client of the user out.

    Requests run in parallel on the thread pool, so each one's numpy work uses one BLAS thread: a per-request
    product of one user vector with every item vector takes ~0.07 ms on one thread and several ms when every
    request also spreads over all cores (bench/serve_http.py)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)

    token = bind_token(host, writes=writes)
    sock = listen(host, port)
    try:
        state = ServiceState(settings, poll_s=poll_s)
        state.start()  # refused credentials stop it here, before it says it serves
        if on_listen is not None:
            on_listen()
        try:
            config = uvicorn.Config(create_app(state, token=token, writes=writes), host=host, port=port,
                                    log_level=log_level, access_log=False)
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # Ctrl-C: uvicorn has shut down and raises it again (as uvicorn.run, end quietly)
            pass
        finally:
            state.stop()
    finally:
        sock.close()
