"""A local Neo4j 5.26 Community server with open GDS and APOC core, assembled from Maven Central.

Everything lives under one ``home`` folder (default ``.kgrec/neo4j``)::

    home/lib        Neo4j server jars and all third-party jars     (filled by ``mvn``, see tools/neo4j/pom.xml)
    home/plugins    GDS (org.neo4j.gds:*) and APOC jars            (filled by ``mvn``)
    home/conf       neo4j.conf and apoc.conf, rewritten on every start
    home/data       databases and transaction logs
    home/logs       neo4j.log, debug.log, console.log (stdout/stderr of the JVM)
    home/run        neo4j.pid and neo4j.json (pid, uri, ports; never the password), neo4j.lock
    home/import     LOAD CSV folder

Java is started directly (not through the ``neo4j`` shell script, which the Maven artifacts do not ship),
so the JVM flags that ``neo4j.conf`` would normally contribute are passed here (see ``_jvm_flags``).

Public functions: :func:`ensure_installed`, :func:`start`, :func:`stop`, :func:`status`.
Errors are :class:`kgrec_neo4j.core.errors.ServerError`. The password is never printed, logged or put on a
command line (the one-off ``set-initial-password`` call reads it from a private ``@argfile``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from ..core import resources
from ..core.errors import CredentialsRefused, Neo4jSettingError, ServerError
from .process import ServerProcess, alive, log_tail, make_private, port_free

__all__ = ["ensure_installed", "start", "stop", "status", "Neo4jServer", "DEFAULT_HOME", "MAIN_CLASS"]

DEFAULT_HOME = Path(".kgrec/neo4j")
MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
LISTEN_HOST = "127.0.0.1"  # Bolt and HTTP never listen anywhere else.
DEFAULT_HTTP_PORT = 7474

_POM_ENV = "KGREC_NEO4J_POM"
_STAMP = ".kgrec-install.json"
_SIZE_RE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_STOP_TIMEOUT_S = 90.0



class Neo4jServer(BaseModel):
    """What is known of the local server without credentials (:func:`start` and :func:`status` return it)."""

    running: bool = False
    pid: int | None = None
    uri: str | None = None
    http_url: str | None = None
    browser_url: str | None = None
    bolt_port: int | None = None
    http_port: int | None = None
    started_at: str | None = None
    installed: bool = False
    versions: dict[str, str] = Field(default_factory=dict)
    home: str = ""
    logs: str = ""


# --------------------------------------------------------------------------------------------- paths


def _pom_path() -> Path:
    env = os.environ.get(_POM_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return resources.path("assembly", "pom.xml")


def _dirs(home: Path) -> dict[str, Path]:
    home = Path(home).expanduser().resolve()
    return {
        "home": home,
        "lib": home / "lib",
        "plugins": home / "plugins",
        "conf": home / "conf",
        "data": home / "data",
        "logs": home / "logs",
        "run": home / "run",
        "import": home / "import",
    }


def _process(home: Path) -> ServerProcess:
    d = _dirs(home)
    return ServerProcess(d["run"], "neo4j", marks=[MAIN_CLASS, str(d["home"])])


def _console_log(home: Path) -> Path:
    return _dirs(home)["logs"] / "console.log"


# ------------------------------------------------------------------------------------------ install


def _pom_versions(pom: Path) -> dict[str, str]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(pom).getroot()
    props = root.find("m:properties", ns)
    out: dict[str, str] = {}
    for key, name in (("neo4j", "neo4j.version"), ("gds", "gds.version"), ("apoc", "apoc.version"),
                      ("browser", "browser.version")):
        el = props.find(f"m:{name}", ns) if props is not None else None
        if el is not None and el.text:
            out[key] = el.text.strip()
    return out


def _read_stamp(home: Path) -> dict | None:
    try:
        return json.loads((_dirs(home)["home"] / _STAMP).read_text())
    except (OSError, ValueError):
        return None


def _jars_present(home: Path, versions: dict[str, str]) -> bool:
    d = _dirs(home)
    need = [
        d["lib"] / f"neo4j-{versions.get('neo4j', '')}.jar",
        d["plugins"] / f"proc-{versions.get('gds', '')}.jar",
        d["plugins"] / f"apoc-core-{versions.get('apoc', '')}.jar",
    ]
    if versions.get("browser"):
        need.append(d["lib"] / f"neo4j-browser-{versions['browser']}.jar")
    return all(p.is_file() for p in need)


def _is_installed(home: Path) -> bool:
    pom = _pom_path()
    if not pom.is_file():
        return False
    stamp = _read_stamp(home)
    if not stamp:
        return False
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    return stamp.get("pom_sha256") == digest and _jars_present(home, stamp.get("versions", {}))


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise ServerError("`java` was not found on PATH; Neo4j 5.26 needs a Java 17 or 21 runtime (set JAVA_HOME).")
    return java


def _java_major(java: str) -> int:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"could not run `{java} -version`: {exc}") from exc
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        raise ServerError(f"could not parse the Java version from `{java} -version`")
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def ensure_installed(home: Path, *, progress: Callable[[str], None] = print) -> None:
    """Download Neo4j + GDS + APOC jars into ``home/lib`` and ``home/plugins`` with Maven (once).

    Idempotent: does nothing when the jars are there and were produced from the current pom
    (its SHA-256 is recorded in ``home/.kgrec-install.json``). Raises ServerError on failure.
    """
    d = _dirs(home)
    pom = _pom_path()
    if not pom.is_file():
        raise ServerError(f"the Maven project {pom} is missing (set {_POM_ENV} to its path)")
    if _is_installed(home):
        return
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServerError("`mvn` (Apache Maven 3.6+) was not found on PATH; it is needed once to fetch Neo4j, "
                          "GDS and APOC from Maven Central")
    java = _java()
    major = _java_major(java)
    if major not in (17, 21):
        progress(f"warning: Java {major} found; Neo4j 5.26 supports Java 17 and 21")

    versions = _pom_versions(pom)
    d["home"].mkdir(parents=True, exist_ok=True)
    tmp_lib, tmp_plugins = d["home"] / "lib.partial", d["home"] / "plugins.partial"
    for p in (tmp_lib, tmp_plugins):
        shutil.rmtree(p, ignore_errors=True)
    progress(
        f"Fetching Neo4j {versions.get('neo4j', '?')}, GDS {versions.get('gds', '?')}, "
        f"APOC {versions.get('apoc', '?')}, Browser {versions.get('browser', '?')} from Maven Central "
        "(about 180 MB, first time only)..."
    )
    # Maven runs on a copy of the pom in the home folder: an installed package's folder stays untouched
    work = d["home"] / "assembly"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pom, work / "pom.xml")
    cmd = [
        mvn, "-B", "-q", "-f", str(work / "pom.xml"), "generate-resources",
        f"-Dkgrec.neo4j.home={d['home']}",
        f"-Dkgrec.neo4j.lib={tmp_lib}",
        f"-Dkgrec.neo4j.plugins={tmp_plugins}",
    ]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except subprocess.TimeoutExpired as exc:
        raise ServerError("Maven did not finish within an hour while fetching the Neo4j jars") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ServerError(f"Maven failed (exit {proc.returncode}) fetching the Neo4j jars:\n{tail}")
    for final, tmp in ((d["lib"], tmp_lib), (d["plugins"], tmp_plugins)):
        if not tmp.is_dir() or not any(tmp.glob("*.jar")):
            raise ServerError(f"Maven finished but {tmp} holds no jars")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    if not _jars_present(home, versions):
        raise ServerError(f"the expected Neo4j/GDS/APOC jars are not in {d['lib']} and {d['plugins']}")
    stamp = {
        "pom": str(pom),
        "pom_sha256": hashlib.sha256(pom.read_bytes()).hexdigest(),
        "versions": versions,
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (d["home"] / _STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    progress(f"Neo4j jars ready in {d['home']} ({time.monotonic() - t0:.0f}s).")


# ------------------------------------------------------------------------------------------- config


def _conf_text(d: dict[str, Path], *, uri_host: str, bolt_port: int, http_port: int, heap: str,
               pagecache: str) -> str:
    lines = [
        "# Written by kgrec_neo4j.local.neo4j_server on every start; edits are overwritten.",
        f"server.directories.data={d['data']}",
        f"server.directories.logs={d['logs']}",
        f"server.directories.plugins={d['plugins']}",
        f"server.directories.lib={d['lib']}",
        f"server.directories.run={d['run']}",
        f"server.directories.import={d['import']}",
        "",
        "dbms.security.auth_enabled=true",
        "dbms.security.procedures.unrestricted=gds.*,apoc.*",
        "dbms.security.procedures.allowlist=gds.*,apoc.*",
        "",
        f"server.memory.heap.initial_size={_initial_heap(heap)}",
        f"server.memory.heap.max_size={heap}",
        f"server.memory.pagecache.size={pagecache}",
        "",
        f"server.default_listen_address={LISTEN_HOST}",
        f"server.default_advertised_address={uri_host}",
        "server.bolt.enabled=true",
        f"server.bolt.listen_address={LISTEN_HOST}:{bolt_port}",
        f"server.bolt.advertised_address={uri_host}:{bolt_port}",
        "server.bolt.tls_level=DISABLED",
        "server.http.enabled=true",
        f"server.http.listen_address={LISTEN_HOST}:{http_port}",
        f"server.http.advertised_address={uri_host}:{http_port}",
        "server.https.enabled=false",
        "",
        "dbms.usage_report.enabled=false",
        "client.allow_telemetry=false",  # Browser sends no product analytics
        "db.tx_log.rotation.retention_policy=2 days 2G",
        "",
    ]
    return "\n".join(lines)


#: APOC settings (conf/apoc.conf: APOC 5 reads none from neo4j.conf). Triggers carry the database-side type
#: checks that `kgrec schema apply` installs; the refresh is how often (ms) the server picks up installed or
#: dropped triggers from the system database.
APOC_CONF = {"apoc.trigger.enabled": "true", "apoc.trigger.refresh": "1000"}


def _apoc_conf_text() -> str:
    return "\n".join(["# Written by kgrec_neo4j.local.neo4j_server on every start; edits are overwritten.",
                      *(f"{k}={v}" for k, v in APOC_CONF.items()), ""])


def _size_bytes(value: str) -> int:
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(value[-1].lower(), 1)
    return int(value.rstrip("kKmMgG")) * mult


def _initial_heap(heap: str) -> str:
    # Start small and let G1 grow up to -Xmx: keeps the resident size low on a laptop.
    return heap if _size_bytes(heap) <= _size_bytes("512m") else "512m"


def _jvm_flags(heap: str) -> list[str]:
    """The ``server.jvm.additional`` lines of the stock 5.26 neo4j.conf, plus heap and encoding
    (which the neo4j launcher would add). See tools/neo4j/README.md for why each is there."""
    return [
        f"-Xms{_initial_heap(heap)}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:+UnlockExperimentalVMOptions",
        "-XX:+TrustFinalNonStaticFields",
        "-XX:+DisableExplicitGC",
        "-Djdk.nio.maxCachedBufferSize=1024",
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Djdk.tls.ephemeralDHKeySize=2048",
        "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
        "-XX:FlightRecorderOptions=stackdepth=256",
        "-XX:+UnlockDiagnosticVMOptions",
        "-XX:+DebugNonSafepoints",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/java.io=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "-Dlog4j2.disable.jmx=true",
        "-Dlog4j.layout.jsonTemplate.maxStringLength=32768",
        "-Dfile.encoding=UTF-8",
    ]


def _classpath(d: dict[str, Path]) -> str:
    # plugins first, as the neo4j launcher does: GDS's kernel extension is found via ServiceLoader on the
    # JVM classpath, while its (and APOC's) procedures are found by scanning the jars in the plugins folder.
    return os.pathsep.join([str(d["plugins"] / "*"), str(d["lib"] / "*")])


def _check_size(name: str, value: str) -> None:
    if not _SIZE_RE.match(value):
        raise ServerError(f"{name}={value!r} is not a memory size; expected e.g. 512m or 2g")




def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _admin(d: dict[str, Path], java: str, args: list[str], *, what: str, timeout_s: float = 300,
           secret: str = "") -> None:
    """Run ``neo4j-admin <args>`` on the installation ``d``; a failure raises :class:`ServerError` naming ``what``.

    The whole command line goes into a private @argfile that the java launcher expands, so a ``secret`` in it never
    appears in the process list (and is redacted from the error)."""
    env = dict(os.environ, NEO4J_HOME=str(d["home"]), NEO4J_CONF=str(d["conf"]))
    full = ["-Xmx512m", "-cp", _classpath(d), ADMIN_CLASS, *args]
    d["run"].mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, argfile = tempfile.mkstemp(prefix="kgrec-neo4j-", suffix=".args", dir=d["run"])
    try:
        os.chmod(argfile, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(_quote_arg(a) for a in full) + "\n")
        proc = subprocess.run([java, f"@{argfile}"], capture_output=True, text=True, env=env, timeout=timeout_s,
                              cwd=str(d["home"]), umask=0o077)
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"`neo4j-admin {' '.join(args[:2])}` did not finish in {timeout_s / 60:g} minutes") from exc
    finally:
        try:
            os.unlink(argfile)
        except OSError:
            pass
    if proc.returncode != 0:
        out = _redact((proc.stdout + proc.stderr).strip(), secret)
        raise ServerError(f"{what} failed (exit {proc.returncode}):\n{out[-3000:]}")


def _set_initial_password(d: dict[str, Path], java: str, username: str, password: str) -> None:
    if username != "neo4j":
        raise ServerError(f"username={username!r}: Neo4j Community only has the built-in 'neo4j' admin user at "
                          "first start; use username='neo4j'")
    _admin(d, java, ["dbms", "set-initial-password", password], what="setting the initial Neo4j password",
           secret=password)


def _quote_arg(arg: str) -> str:
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------------------------------ process










def _log_tail(home: Path, n: int = 30) -> str:
    d = _dirs(home)
    chunks = []
    for p in (d["logs"] / "console.log", d["logs"] / "neo4j.log"):
        tail = log_tail(p, n)
        if tail:
            chunks.append(f"--- {p} (last {min(n, tail.count(chr(10)) + 1)} lines)\n" + tail)
    return "\n".join(chunks)


def _probe(uri: str, username: str, password: str) -> str:
    """One readiness check: returns gds.version(); raises the driver's exceptions."""
    import neo4j  # lazy: only needed here

    from ..core.db import NOTIFICATIONS

    with neo4j.GraphDatabase.driver(uri, auth=(username, password), connection_timeout=5, max_connection_lifetime=30,
                                    user_agent="kgrec-neo4j-probe", **NOTIFICATIONS) as drv:
        with drv.session(database="neo4j") as session:
            rec = session.run("RETURN gds.version() AS v").single()
            if rec is None:
                raise RuntimeError("RETURN gds.version() returned no record")
            return rec["v"]


def _wait_ready(home: Path, pid: int, uri: str, username: str, password: str, timeout_s: float) -> str:
    try:
        from neo4j import exceptions as nex
    except ImportError as exc:
        raise ServerError("the Python package `neo4j` is needed to check the server (pip install 'neo4j>=5.28,<6')") \
            from exc
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        if not alive(pid):
            raise ServerError(f"Neo4j exited during start-up; see the logs in {_dirs(home)['logs']}\n"
                              f"{_redact(_log_tail(home), password)}")
        try:
            return _probe(uri, username, password)
        except nex.AuthError as exc:
            # Never retry: Neo4j locks the user after a few failed attempts.
            # (exit code 2, as every command's refused login: the cause is a setting, not the server)
            raise CredentialsRefused(f"Neo4j at {uri} rejected the credentials for user {username!r}: the password "
                                     "does not match the one set at first start (it is stored in the database under "
                                     f"{_dirs(home)['data']}); set NEO4J_PASSWORD to that one.") from exc
        except (nex.ServiceUnavailable, nex.SessionExpired, OSError) as exc:
            last = type(exc).__name__
        except nex.ClientError as exc:
            code = getattr(exc, "code", "") or ""
            if "ProcedureNotFound" in code or "UnknownFunction" in code or "Unknown function" in str(exc):
                raise ServerError(f"Neo4j is up at {uri} but gds.version() is unknown: the GDS plugin did not "
                                  f"load; see {_dirs(home)['logs']}/neo4j.log") from exc
            last = f"{type(exc).__name__}: {code}"
        except nex.Neo4jError as exc:  # e.g. DatabaseUnavailable while the store starts
            last = f"{type(exc).__name__}: {getattr(exc, 'code', '')}"
        if time.monotonic() > deadline:
            raise ServerError(f"Neo4j did not answer on {uri} within {timeout_s:.0f}s (last: {last}); see "
                              f"{_dirs(home)['logs']}\n{_redact(_log_tail(home), password)}")
        time.sleep(0.5)


def check_password(password: str) -> None:
    """Raise :class:`Neo4jSettingError` (exit code 2, as a missing password) for a password the first start could not
    set (none, or under 8 characters): before anything is installed or started."""
    if not password:
        raise Neo4jSettingError("a password is required to start Neo4j (authentication stays on); set NEO4J_PASSWORD")
    if len(password) < 8:
        raise Neo4jSettingError("the Neo4j password must have at least 8 characters (Neo4j 5 refuses shorter ones); "
                                "set NEO4J_PASSWORD to a longer one")


def start(home: Path, *, uri_host: str = "127.0.0.1", bolt_port: int = 7687, http_port: int | None = None,
          password: str, username: str = "neo4j", heap: str = "2g", pagecache: str = "512m",
          timeout_s: float = 180, progress: Callable[[str], None] = print) -> Neo4jServer:
    """Start (or reuse) the local server under ``home``; return it once ``gds.version()`` answers.

    On the first start the password of ``username`` (must be ``neo4j``) is set to ``password``. Bolt and HTTP
    listen on 127.0.0.1 only; ``uri_host`` is just the host put in the returned URI. Installs the jars
    first if needed (see :func:`ensure_installed`). Two starts at once under one ``home`` take turns.
    ``http_port``: default 7474 for a new start; a server already running is reused only on the ports asked for
    (``None``: any HTTP port).
    """
    check_password(password)
    _check_size("heap", heap)
    _check_size("pagecache", pagecache)
    asked_http = http_port
    http_port = DEFAULT_HTTP_PORT if http_port is None else http_port
    for name, port in (("bolt_port", bolt_port), ("http_port", http_port)):
        if not (0 < int(port) < 65536):
            raise ServerError(f"{name}={port} is not a TCP port")
    if bolt_port == http_port:
        raise ServerError("bolt_port and http_port must differ")
    uri = f"bolt://{uri_host}:{bolt_port}"

    d = _dirs(home)
    proc = _process(home)
    ensure_installed(home, progress=progress)
    with proc.start_lock():
        running = proc.running_pid()
        if running is not None:
            state = proc.state()
            if state and state.get("bolt_port") != bolt_port:
                raise ServerError(f"Neo4j under {d['home']} is already running (pid {running}) on Bolt port "
                                  f"{state.get('bolt_port')}, not {bolt_port}; stop it first")
            if state and asked_http is not None and state.get("http_port") != asked_http:
                raise ServerError(f"Neo4j under {d['home']} is already running (pid {running}) with HTTP on port "
                                  f"{state.get('http_port')}, not {asked_http}; stop it first (`kgrec db stop`) to "
                                  "change the port")
            _wait_ready(home, running, uri, username, password, timeout_s)
            return status(home)
        _check_no_interrupted_restore(d)
        java = _java()
        for name, port in (("Bolt", bolt_port), ("HTTP", http_port)):
            if not port_free(port, LISTEN_HOST):
                raise ServerError(f"{name} port {LISTEN_HOST}:{port} is already in use by another process; stop it "
                                  "or choose another port")
        for key in ("conf", "data", "logs", "run", "import"):
            d[key].mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = d["conf"] / "neo4j.conf"
        conf.write_text(_conf_text(d, uri_host=uri_host, bolt_port=bolt_port, http_port=http_port, heap=heap,
                                   pagecache=pagecache))
        (d["conf"] / "apoc.conf").write_text(_apoc_conf_text())
        # the store (every review), the system database and the logs: owner-only, also when created earlier
        make_private(*(d[key] for key in ("conf", "data", "logs", "run", "import")))

        if not (d["data"] / "databases" / "system").exists():
            progress("First start: setting the initial password of the 'neo4j' user...")
            _set_initial_password(d, java, username, password)

        cmd = [java, *_jvm_flags(heap), "-cp", _classpath(d), MAIN_CLASS,
               f"--home-dir={d['home']}", f"--config-dir={d['conf']}"]
        env = dict(os.environ, NEO4J_HOME=str(d["home"]), NEO4J_CONF=str(d["conf"]))
        progress(f"Starting Neo4j (heap {heap}, page cache {pagecache}) on {uri} ...")
        t0 = time.monotonic()
        try:
            child = proc.launch(cmd, log_path=_console_log(home), cwd=d["home"], env=env, banner="kgrec start")
        except OSError as exc:
            raise ServerError(f"could not launch {java}: {exc}") from exc
        http_url = f"http://{uri_host}:{http_port}"
        proc.record(child.pid, {"pid": child.pid, "uri": uri, "bolt_port": bolt_port, "http_port": http_port,
                                "http_url": http_url, "heap": heap, "pagecache": pagecache,
                                "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        try:
            gds_version = _wait_ready(home, child.pid, uri, username, password, timeout_s)
        except BaseException:
            _stop(proc)
            raise
    info = status(home)
    progress(f"Neo4j is ready on {uri} (GDS {gds_version}, {time.monotonic() - t0:.1f}s); "
             f"Browser: {info.browser_url}")
    return info


def _stop(proc: ServerProcess) -> bool:
    try:
        return proc.stop(timeout_s=_STOP_TIMEOUT_S)
    except TimeoutError as exc:
        raise ServerError(f"Neo4j {exc}") from None


def stop(home: Path) -> bool:
    """Stop the server under ``home``: SIGTERM, wait up to 90 s for a clean shutdown, then SIGKILL.

    Returns True when a running server was stopped, False when none was running.
    """
    return _stop(_process(home))


def _check_no_interrupted_restore(d: dict[str, Path]) -> None:
    """Refuse to go on while a killed ``kgrec db restore`` has left the database it replaced aside (the store in
    place may be half loaded): name the two ways out."""
    for work in sorted(d["run"].glob(".kgrec-restore-*")) if d["run"].is_dir() else []:
        aside = work / "previous"
        if not aside.is_dir() or not any(aside.iterdir()):
            continue
        db_name = (work / "database").read_text().strip() if (work / "database").is_file() else "neo4j"
        stores = [d["data"] / "databases" / db_name, d["data"] / "transactions" / db_name]
        raise ServerError(
            f"a `kgrec db restore` was interrupted: the database it replaced is in {aside}, and the one in place may "
            f"be half loaded. Run the restore again (`kgrec db restore FILE --yes`: it replaces the database whole), "
            f"or go back to the database before it: remove {stores[0]} and {stores[1]}, move {aside / '0'} to the "
            f"first and {aside / '1'} to the second, then remove {work}")


def _stopped_for(home: Path, proc: ServerProcess, what: str) -> dict[str, Path]:
    """The folders of a stopped, installed server under ``home``; else a :class:`ServerError` naming the fix."""
    d = _dirs(home)
    if not _is_installed(home) or not (d["data"] / "databases").is_dir():
        raise ServerError(f"no local Neo4j database under {d['home']} to {what}; `kgrec db start` makes one (or set "
                          "--home / KGREC_HOME to the folder of yours)")
    pid = proc.running_pid()
    if pid is not None:
        raise ServerError(f"the local Neo4j under {d['home']} is running (pid {pid}): Neo4j Community can {what} "
                          f"only a stopped database; run `kgrec db stop`, this command, then `kgrec db start`")
    return d


def dump(home: Path, *, database: str = "neo4j", to: Path | None = None) -> Path:
    """Dump ``database`` of the stopped local server under ``home`` into one archive file (``neo4j-admin database
    dump``); return its path, ``<to>/<database>-<UTC yyyymmdd-hhmmss>.dump`` (``to``: default ``<home>/dumps``).

    The archive is written under a temporary name in ``to`` and renamed when complete: a failed dump leaves no
    file. Raises :class:`ServerError` when the server runs (Community edition dumps only a stopped database).
    """
    proc = _process(home)
    with proc.start_lock():
        d = _stopped_for(home, proc, "dump")
        _check_no_interrupted_restore(d)
        if not (d["data"] / "databases" / database).is_dir():
            raise ServerError(f"no database {database!r} under {d['data'] / 'databases'}; the default is 'neo4j' "
                              "(NEO4J_DATABASE)")
        out_dir = Path(to).expanduser().resolve() if to is not None else d["home"] / "dumps"
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{database}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.dump"
        if target.exists():
            raise ServerError(f"{target} exists already; wait a second or dump elsewhere (--to)")
        tmp = Path(tempfile.mkdtemp(prefix=".kgrec-dump-", dir=out_dir))
        try:
            _admin(d, _java(), ["database", "dump", database, f"--to-path={tmp}"], what=f"dumping {database!r}",
                   timeout_s=3600)
            (tmp / f"{database}.dump").replace(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def restore(home: Path, dump_file: Path, *, database: str = "neo4j") -> None:
    """Replace ``database`` of the stopped local server under ``home`` with the archive ``dump_file`` (made by
    :func:`dump`, ``neo4j-admin database dump`` or Neo4j Aura's export).

    The current store is moved aside first and moved back when the load fails (a damaged or foreign archive), so a
    failed restore loses nothing; it is deleted once the load succeeded. Raises :class:`ServerError` when the server
    runs or the file is missing.
    """
    src = Path(dump_file).expanduser().resolve()
    if not src.is_file():
        raise ServerError(f"no dump file {src}; `kgrec db dump` makes one (in {_dirs(home)['home'] / 'dumps'} by "
                          f"default)")
    proc = _process(home)
    with proc.start_lock():
        d = _stopped_for(home, proc, "restore")
        if database != "neo4j" and not (d["data"] / "databases" / database).is_dir():
            # a store of another name is loaded but never served: Community serves its one default database
            there = sorted(p.name for p in (d["data"] / "databases").iterdir() if p.is_dir() and p.name != "system")
            raise ServerError(f"no database {database!r} under {d['data'] / 'databases'} (there: "
                              f"{', '.join(there) or 'none'}); the local server serves 'neo4j' only: unset "
                              f"NEO4J_DATABASE (now {database!r}) to restore into it")
        stores = [d["data"] / "databases" / database, d["data"] / "transactions" / database]
        work = Path(tempfile.mkdtemp(prefix=".kgrec-restore-", dir=d["run"]))
        (work / "database").write_text(database)
        aside, staged = work / "previous", work / "dump"
        existed = [path.exists() for path in stores]
        moved: list[int] = []
        keep = False  # the previous store is in `work` and could not be put back: never delete it
        try:
            aside.mkdir()
            staged.mkdir()
            try:
                os.link(src, staged / f"{database}.dump")
            except OSError:
                shutil.copyfile(src, staged / f"{database}.dump")
            for i, path in enumerate(stores):
                if existed[i]:
                    path.replace(aside / str(i))
                    moved.append(i)
            _admin(d, _java(), ["database", "load", database, f"--from-path={staged}"],
                   what=f"loading {src.name} into {database!r} (the database is as it was before)", timeout_s=3600)
            for old in d["run"].glob(".kgrec-restore-*"):  # what an interrupted restore left: replaced now
                if old != work:
                    shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            try:
                for i, path in enumerate(stores):
                    if i in moved or not existed[i]:  # a store moved aside, or one only the failed load made
                        shutil.rmtree(path, ignore_errors=True)
                    if i in moved:
                        (aside / str(i)).replace(path)
            except OSError as exc:
                keep = True
                raise ServerError(f"the load failed and the previous store could not be put back ({exc}): it is "
                                  f"in {aside} (0: data/databases/{database}, 1: data/transactions/{database}); "
                                  "move it back by hand") from exc
            raise
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)


def status(home: Path) -> Neo4jServer:
    """What is known without credentials: running, pid, uri, ports, versions, folders."""
    d = _dirs(home)
    proc = _process(home)
    pid = proc.running_pid()
    state = (proc.state() or {}) if pid is not None else {}
    stamp = _read_stamp(home) or {}
    versions = stamp.get("versions")
    if not versions and _pom_path().is_file():
        versions = _pom_versions(_pom_path())
    http_url = state.get("http_url")
    return Neo4jServer(
        running=pid is not None, pid=pid, uri=state.get("uri"), http_url=http_url,
        browser_url=f"{http_url}/browser/" if http_url else None,
        bolt_port=state.get("bolt_port"), http_port=state.get("http_port"), started_at=state.get("started_at"),
        installed=_is_installed(home), versions=dict(versions or {}), home=str(d["home"]), logs=str(d["logs"]))
