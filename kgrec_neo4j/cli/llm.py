"""``kgrec llm serve | stop | status | test``: the bundled local model server and a one-request check."""

from __future__ import annotations

from typing import Any

import click

from ..core.config import Settings, redact_url, stored_error
from ..core.errors import ConfigError
from ._common import echo_json, pass_settings, plural


@click.group("llm")
def llm() -> None:
    """The LLM endpoint: run the bundled local model, or check the configured one.

    The bundled model (SmolLM2-135M-Instruct on llama.cpp) runs offline on a CPU. Its answers are
    poor: it proves the plumbing, not extraction quality. For real runs point KGREC_LLM_BASE_URL at
    vLLM, Ollama or a hosted API.
    """


@llm.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8089, show_default=True,
              help="Preferred port on 127.0.0.1 (a free one is chosen if taken; 0 = any).")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A .gguf file (default: the bundled SmolLM2-135M-Instruct).")
@click.option("--parallel", type=click.IntRange(1, 64), default=None,
              help="Requests decoded at once (default 1); set KGREC_LLM_CONCURRENCY to the same number (`kgrec llm "
                   "status --exports` prints it). A server already running keeps its own unless this is given.")
@click.option("--ctx", "ctx_per_slot", type=click.IntRange(256), default=4096, show_default=True,
              help="Context tokens per request slot.")
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads (default: cores - 1).")
@click.option("--wait", "wait_s", type=float, default=180.0, show_default=True, help="Seconds to wait for health.")
@pass_settings
def serve_cmd(settings: Settings, port, model_path, parallel, ctx_per_slot, threads, wait_s) -> None:
    """Start the bundled llama.cpp server detached on 127.0.0.1 (pid and log under <home>/llm).

    \b
    Example:
      kgrec llm serve && eval "$(kgrec llm status --exports)"
      kgrec llm test "Nintendo Switch Pro Controller"
    """
    from ..local import llm_server as server

    info = server.start(server.llm_home(settings), port=port, model_path=model_path, parallel=parallel,
                        ctx_per_slot=ctx_per_slot, threads=threads, wait_s=wait_s)
    click.echo(f"LLM server pid {info.pid} serving {info.model} at {info.base_url} (log: {info.log_path})")
    click.echo("Use it with:")
    click.echo(_exports(info))
    click.echo("Note: a 135M-parameter model; its answers prove the plumbing, not the quality.")


def _exports(info) -> str:
    """The settings that point the commands at the running server (its concurrency: the slots it decodes at once)."""
    return (f"export KGREC_LLM_BASE_URL={info.base_url}\nexport KGREC_LLM_MODEL={info.model}\n"
            f"export KGREC_LLM_CONCURRENCY={info.parallel or 1}")


@llm.command("stop")
@pass_settings
def stop_cmd(settings: Settings) -> None:
    """Stop the bundled server started from this home folder.

    \b
    Example:
      kgrec llm stop
    """
    from ..local import llm_server as server

    if server.stop(server.llm_home(settings)):
        click.echo("LLM server stopped.")
    else:
        click.echo("No LLM server was running (from this home folder).")


@llm.command("status")
@click.option("--exports", is_flag=True, help="Print only `export ...` lines for a running bundled server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def status_cmd(settings: Settings, exports: bool, as_json: bool) -> None:
    """Show the bundled server (if any), the configured endpoint and the answer cache.

    \b
    Examples:
      kgrec llm status
      eval "$(kgrec llm status --exports)"   # point the LLM settings at the running bundled server
    """
    from ..llm.cache import LLMCache
    from ..local import llm_server as server

    info = server.status(server.llm_home(settings))
    if exports:
        if info is None or not info.running:
            raise click.ClickException("no bundled LLM server is running; start one with `kgrec llm serve`")
        click.echo(_exports(info))
        return
    cache_path = settings.home_path / "cache" / "llm.sqlite"
    cache = {}
    if cache_path.is_file():
        c = LLMCache(cache_path)
        cache = c.stats()
        c.close()
    report: dict[str, Any] = {
        "bundled_server": info.model_dump() if info else None,
        "configured_endpoint": {"base_url": redact_url(settings.llm_base_url) or None,
                                "model": settings.llm_model or None,
                                "api_key": "***" if settings.llm_api_key else None,
                                "concurrency": settings.llm_concurrency},
        "cache": {"path": str(cache_path), "entries": cache},
    }
    if as_json:
        echo_json(report)
        return
    if info is None:
        click.echo("bundled server: not started from this home folder")
    else:
        state = "healthy" if info.healthy else ("running, not answering" if info.running else "not running")
        click.echo(f"bundled server: {state}; pid {info.pid}, {info.model} at {info.base_url}, log {info.log_path}")
    ep = report["configured_endpoint"]
    click.echo(f"configured endpoint: {ep['base_url'] or '(none: set KGREC_LLM_BASE_URL)'}, model "
               f"{ep['model'] or '(server default)'}, concurrency {ep['concurrency']}")
    click.echo(f"answer cache: {cache_path} " + (", ".join(f"{k}: {v}" for k, v in cache.items()) or "(empty)"))


@llm.command("test")
@click.argument("text", default="Nintendo Switch Pro Controller with USB-C charging cable")
@click.option("--base-url", default=None, help="Endpoint (default: settings, else the running bundled server).")
@click.option("--model", default=None, help="Model id (default: settings, else the bundled server's).")
@click.option("--max-points", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=None, help="Seconds per call (default: settings).")
@pass_settings
def test_cmd(settings: Settings, text: str, base_url, model, max_points: int, timeout_s) -> None:
    """Send one extraction request (TEXT as an item title) and print the validated answer.

    No cache: the endpoint is really called.

    \b
    Example:
      kgrec llm test "Logitech G29 racing wheel for PS4 and PC"
    """
    import dataclasses

    from ..core.schema import load_pack
    from ..extract.base import ItemText
    from ..extract.llm import LLMExtractor
    from ..local import llm_server as server

    if not text.strip():
        raise click.BadParameter("is empty: give an item title to extract from", param_hint="TEXT")
    info = server.status(server.llm_home(settings))
    base_url = base_url or settings.llm_base_url or (info.base_url if info and info.healthy else None)
    if not base_url:
        raise ConfigError("no LLM endpoint: set KGREC_LLM_BASE_URL, pass --base-url, or start the bundled "
                          "server with `kgrec llm serve`")
    model = model or settings.llm_model or (info.model if info and base_url == info.base_url else "")
    s = dataclasses.replace(settings, llm_base_url=base_url, llm_model=model)
    with LLMExtractor(s, load_pack(settings.type_pack), max_points=max_points, cache=False,
                      timeout_s=timeout_s, max_output_retries=0, concurrency=1) as ex:
        [res] = ex.extract([ItemText(item_id="test", title=text)])
        st = ex.stats.llm
    click.echo(f"endpoint {redact_url(base_url)}, model {model or '(server default)'}, response format "
               f"{st.response_format}; "
               f"{plural(st.calls, 'call')}, {st.prompt_tokens}+{st.completion_tokens} tokens, {st.seconds:.1f} s")
    if res.error:
        # (the endpoint's API key and URL secrets hidden, as every other command prints a failure)
        raise click.ClickException(f"the request failed: {stored_error(res.error, s)}")
    echo_json({"points": [p.model_dump() for p in res.points], "dropped": res.dropped})


commands = [llm]
