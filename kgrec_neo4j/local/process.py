"""One detached server process recorded in a folder: what both local servers (Neo4j, the bundled LLM) share.

A :class:`ServerProcess` keeps ``<folder>/<name>.pid`` and ``<folder>/<name>.json`` (the state: where the server
listens, when it started), launches the process in a new session (it outlives the command that started it),
recognises it again by its command line (a reused pid is not ours), and stops it with SIGTERM, then SIGKILL.
A start holds ``<folder>/<name>.lock`` (``flock``) from the port check to the recorded pid, so that two starts
at once cannot both launch, or clean up after each other.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# Popen objects of servers started by this process, so that their exit can be reaped (no zombies).
_CHILDREN: dict[int, subprocess.Popen] = {}


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port`` (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    """True when process ``pid`` exists and is not a zombie."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        except (OSError, IndexError):
            pass
    return True


def cmdline(pid: int) -> str | None:
    """The command line of ``pid`` (``None`` when it cannot be read)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
    try:
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def make_private(*paths: Path) -> None:
    """Take group and other permissions away from ``paths`` and everything under them (folders 0700, files at most
    0600): a store or log created earlier with a wider umask is tightened on the next start."""
    for top in paths:
        if not top.exists():
            continue
        for p in [top, *top.rglob("*")]:
            try:
                if p.is_symlink():
                    continue
                mode = p.stat().st_mode & 0o777
                if mode & 0o077:
                    p.chmod(mode & 0o700)
            except OSError:  # a file the server removed meanwhile
                pass


def log_tail(path: Path, n: int = 30) -> str:
    """The last ``n`` lines of a text file ('' when it cannot be read)."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600), replacing it whole."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


class ServerProcess:
    """A server process recorded as ``<folder>/<name>.pid`` and ``<folder>/<name>.json``.

    Args:
        folder: where the pid, state and lock files live (created on demand, owner-only).
        name: file stem (``"neo4j"``, ``"server"``).
        marks: strings the process's command line must contain to count as this server.
    """

    def __init__(self, folder: Path, name: str, marks: Sequence[str]) -> None:
        self.folder = Path(folder)
        self.name = name
        self.marks = [m for m in marks if m]
        self.pid_file = self.folder / f"{name}.pid"
        self.state_file = self.folder / f"{name}.json"
        self.lock_file = self.folder / f"{name}.lock"

    # ---------------------------------------------------------------------------- records
    def recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def record(self, pid: int, state: dict[str, Any]) -> None:
        _write_private(self.pid_file, str(pid))
        self.write_state(state)

    def write_state(self, state: dict[str, Any]) -> None:
        _write_private(self.state_file, json.dumps(state, indent=2, default=str) + "\n")

    def forget(self) -> None:
        for p in (self.pid_file, self.state_file):
            p.unlink(missing_ok=True)

    # ---------------------------------------------------------------------------- the process
    def is_ours(self, pid: int) -> bool:
        """``pid`` is alive and its command line carries every mark (a reused pid does not count)."""
        if not alive(pid):
            return False
        cmd = cmdline(pid)
        return cmd is None or all(m in cmd for m in self.marks)

    def running_pid(self) -> int | None:
        """The recorded pid when that process is alive and is this server, else ``None``."""
        pid = self.recorded_pid()
        return pid if pid is not None and self.is_ours(pid) else None

    @contextlib.contextmanager
    def start_lock(self) -> Iterator[None]:
        """Hold ``<name>.lock`` for the duration of a start (one start at a time per folder)."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def launch(self, cmd: Sequence[str], *, log_path: Path, cwd: Path, env: dict[str, str] | None = None,
               banner: str = "", umask: int = 0o077) -> subprocess.Popen:
        """Start ``cmd`` detached (new session, stdin closed, output appended to ``log_path``, owner-only).

        ``umask``: the server's own files (the store, its logs) are created without group or other permissions.
        """
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            if banner:
                log.write(f"\n==== {banner} {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
                log.flush()
            kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": subprocess.STDOUT,
                                      "cwd": str(cwd), "env": env, "close_fds": True, "start_new_session": True,
                                      "umask": umask}
            child = subprocess.Popen(list(cmd), **kwargs)
        _CHILDREN[child.pid] = child
        return child

    def stop(self, *, timeout_s: float, kill_timeout_s: float = 15.0) -> bool:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL; forget the records. True when one was running.

        Raises:
            TimeoutError: the process outlived SIGKILL by ``kill_timeout_s``.
        """
        pid = self.running_pid()
        if pid is None:
            self.forget()
            return False
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, kill_timeout_s)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not alive(pid):
                break
        if alive(pid):
            raise TimeoutError(f"process {pid} did not exit after SIGKILL")
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.poll()
        self.forget()
        return True
