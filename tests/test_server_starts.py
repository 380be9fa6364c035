"""Two starts of the same local server at once end with one server and an intact pid file (the start lock of
kgrec_neo4j/local/process.py holds from the port check to the recorded pid)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kgrec_neo4j.local.llm_server import _CHILD_MARK
from kgrec_neo4j.local.process import alive, free_port

REPO = Path(__file__).resolve().parent.parent


def kgrec(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kgrec_neo4j.cli", "--home", str(home), *args], cwd=REPO,
                            env=env or os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def processes_with(*marks: str) -> list[int]:
    """Pids of live processes whose command line carries every mark."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(m in cmd for m in marks) and alive(int(p.name)):
            out.append(int(p.name))
    return out


@pytest.mark.llm
@pytest.mark.timeout(600)
def test_two_llm_serve_at_once_leave_one_server(tmp_path):
    home = tmp_path / "home"
    port = str(free_port())
    a, b = kgrec(home, "llm", "serve", "--port", port), kgrec(home, "llm", "serve", "--port", port)
    out_a, _ = a.communicate(timeout=400)
    out_b, _ = b.communicate(timeout=400)
    try:
        assert a.returncode == 0 and b.returncode == 0, (out_a, out_b)
        pid = int((home / "llm" / "server.pid").read_text())
        state = json.loads((home / "llm" / "server.json").read_text())
        assert f"pid {pid} " in out_a and f"pid {pid} " in out_b  # the loser reuses the winner's server
        assert state["pid"] == pid and alive(pid) and state["healthy"]
        assert processes_with(_CHILD_MARK, f"--port {state['port']} ") == [pid]
    finally:
        stop = kgrec(home, "llm", "stop")
        stop.communicate(timeout=120)
    assert not (home / "llm" / "server.pid").exists() and not alive(pid)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_two_db_start_at_once_leave_one_server(settings, tmp_path):
    """Two `kgrec db start` on a fresh home at once: both exit 0 with the same server, one Neo4j process, the pid file
    names it; `kgrec db stop` stops it."""
    from kgrec_neo4j.local import neo4j_server as server

    src = settings.home_path / "neo4j"
    if not (src / ".kgrec-install.json").is_file():
        pytest.skip("the local server's jars are not installed here")
    home = tmp_path / "kg"
    (home / "neo4j").mkdir(parents=True)
    for sub in ("lib", "plugins"):
        (home / "neo4j" / sub).symlink_to(src / sub)
    shutil.copyfile(src / ".kgrec-install.json", home / "neo4j" / ".kgrec-install.json")
    env = dict(os.environ, NEO4J_URI=f"bolt://127.0.0.1:{free_port()}", NEO4J_PASSWORD="two-starts-1",
               KGREC_NEO4J_HEAP="512m", KGREC_NEO4J_PAGECACHE="64m")
    http = str(free_port())
    a = kgrec(home, "db", "start", "--http-port", http, env=env)
    b = kgrec(home, "db", "start", "--http-port", http, env=env)
    out_a, _ = a.communicate(timeout=900)
    out_b, _ = b.communicate(timeout=900)
    try:
        assert a.returncode == 0 and b.returncode == 0, (out_a, out_b)
        st = server.status(home / "neo4j")
        assert st.running and st.pid is not None
        assert int((home / "neo4j" / "run" / "neo4j.pid").read_text()) == st.pid
        assert processes_with("org.neo4j", str(home / "neo4j")) == [st.pid]
    finally:
        kgrec(home, "db", "stop", env=env).communicate(timeout=300)
    assert not server.status(home / "neo4j").running
