"""Overhead of the LLM client itself, against the zero-latency fake OpenAI server.

The fake server runs in its own process (so it does not share the client's GIL) and answers every
request at once with the same small JSON. What is measured is what the client costs per request:
LangChain (``ChatOpenAI.with_structured_output`` and the runnables around it) + the OpenAI SDK + the HTTP
transport + validation + accounting.

Runs:
  * ``raw``      : bare ``httpx.AsyncClient`` POSTs over the same transport (the floor of the HTTP layer);
  * ``library``  : ``ChatOpenAI.with_structured_output(json_schema, method="json_schema", include_raw=True)
                   .abatch`` alone, no validation, accounting or cache (the floor of the library path), and
                   the same model bound with ``extra_body={"response_format": ...}`` (the SDK's plain
                   ``create`` instead of its ``parse``), for comparison;
  * ``client``   : ``LLMClient.run_structured`` with ``--concurrency`` in flight, no cache
                   (``--repeat`` runs, the median reported; the machine's load average is recorded);
  * ``cached``   : the same with the SQLite cache on (first run writes every answer);
  * ``rerun``    : the cached run again: must make zero calls.

Target: >= 200 requests/s with 32 in flight. Example::

    python bench/llm_client.py --requests 2000 --concurrency 32 --json /tmp/llm-bench.json
    python bench/llm_client.py --profile          # where the client's time goes (cProfile, top 25)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pydantic import BaseModel  # noqa: E402

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.llm import LLMCache, LLMClient, StructuredRequest  # noqa: E402


class Answer(BaseModel):
    answer: str


def start_fake() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "fakes" / "openai_server.py"),
                             "--content", json.dumps({"answer": "ok"})], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise SystemExit(f"the fake server did not start: {line!r}")
    return proc, int(line.split()[1])


def requests(n: int, tag: str) -> list[StructuredRequest]:
    return [StructuredRequest(f"{tag}{i}", [{"role": "system", "content": "Answer in JSON."},
                                            {"role": "user", "content": f"question {tag} {i}"}], Answer,
                              prompt_version="bench") for i in range(n)]


def raw_rate(port: int, n: int, concurrency: int) -> dict:
    import httpx

    from kgrec_neo4j.llm.transport import AiohttpTransport

    async def go():
        async with httpx.AsyncClient(transport=AiohttpTransport(limit=concurrency * 2)) as hc:
            sem = asyncio.Semaphore(concurrency)
            body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}

            async def one():
                async with sem:
                    r = await hc.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body)
                    r.json()

            await asyncio.gather(*(one() for _ in range(50)))
            t, c = time.perf_counter(), time.process_time()
            await asyncio.gather(*(one() for _ in range(n)))
            return time.perf_counter() - t, time.process_time() - c

    wall, cpu = asyncio.run(go())
    return {"requests": n, "seconds": round(wall, 3), "requests_per_s": round(n / wall, 1),
            "client_cpu_ms_per_request": round(1000 * cpu / n, 3)}


def library_rate(port: int, n: int, concurrency: int) -> dict:
    """``abatch`` of the bare LangChain structured-output runnable (and of the ``extra_body`` binding)."""
    import httpx
    from langchain_openai import ChatOpenAI

    from kgrec_neo4j.llm.transport import AiohttpTransport

    schema = {"name": "Answer", "schema": Answer.model_json_schema(), "strict": False}
    msgs = [[("system", "Answer in JSON."), ("human", f"question {i}")] for i in range(n)]

    async def go(kind: str) -> tuple[float, float]:
        async with httpx.AsyncClient(transport=AiohttpTransport(limit=concurrency * 2)) as hc:
            chat = ChatOpenAI(model="bench", base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0,
                              http_async_client=hc)
            if kind == "structured_output":
                r = chat.with_structured_output(schema, method="json_schema", include_raw=True)
            else:
                r = chat.bind(extra_body={"response_format": {"type": "json_schema", "json_schema": schema}})
            await r.abatch(msgs[:50], config={"max_concurrency": concurrency})
            t, c = time.perf_counter(), time.process_time()
            await r.abatch(msgs, config={"max_concurrency": concurrency})
            return time.perf_counter() - t, time.process_time() - c

    out = {}
    for kind in ("structured_output", "extra_body"):
        wall, cpu = asyncio.run(go(kind))
        out[kind] = {"requests": n, "seconds": round(wall, 3), "requests_per_s": round(n / wall, 1),
                     "client_cpu_ms_per_request": round(1000 * cpu / n, 3)}
    return out


def client_rate(client: LLMClient, reqs: list[StructuredRequest], concurrency: int) -> dict:
    c = time.process_time()
    results = client.run_structured(reqs, concurrency=concurrency)
    cpu = time.process_time() - c
    s = client.last_stats
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return {"requests": s.requests, "calls": s.calls, "cache_hits": s.cache_hits, "seconds": round(s.seconds, 3),
            "requests_per_s": round(s.requests_per_s, 1),
            "client_cpu_ms_per_request": round(1000 * cpu / max(1, len(reqs)), 3)}


def profile(settings, args) -> None:
    """cProfile one uncached run, its event loop on this thread (a fresh client: its connection pool
    must belong to this loop)."""
    import cProfile
    import pstats

    from langchain_core.runnables import RunnableLambda

    client = LLMClient(settings, cache=False, concurrency=args.concurrency)
    chain = RunnableLambda(client._answer_request)

    async def go():
        await client._arun(chain, requests(50, "pw"), args.concurrency, False, "warm")
        pr = cProfile.Profile()
        pr.enable()
        await client._arun(chain, requests(args.requests, "prof"), args.concurrency, False, "prof")
        pr.disable()
        await client._http.aclose()
        return pr

    pstats.Stats(asyncio.run(go())).sort_stats("tottime").print_stats(25)
    client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--json", type=Path, default=None, help="write the report here")
    ap.add_argument("--repeat", type=int, default=3, help="uncached runs (the median is reported)")
    ap.add_argument("--profile", action="store_true", help="cProfile one uncached client run")
    args = ap.parse_args()

    proc, port = start_fake()
    report: dict = {"concurrency": args.concurrency, "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        with tempfile.TemporaryDirectory() as home:
            settings = load_settings({"llm_base_url": f"http://127.0.0.1:{port}/v1", "llm_model": "bench",
                                      "home": home}, environ={})
            report["raw_httpx_aiohttp"] = raw_rate(port, args.requests, args.concurrency)
            report["library"] = library_rate(port, args.requests, args.concurrency)
            with LLMClient(settings, cache=False, concurrency=args.concurrency) as client:
                client.run_structured(requests(50, "warm"))
                if args.profile:
                    profile(settings, args)
                runs = [client_rate(client, requests(args.requests, f"a{k}"), args.concurrency)
                        for k in range(args.repeat)]
                runs.sort(key=lambda r: r["requests_per_s"])
                report["client_no_cache_runs_per_s"] = [r["requests_per_s"] for r in runs]
                report["client_no_cache"] = runs[len(runs) // 2]  # the median run
            cache = LLMCache(Path(home) / "cache" / "llm.sqlite")
            with LLMClient(settings, cache=cache, concurrency=args.concurrency) as client:
                report["client_cache_write"] = client_rate(client, requests(args.requests, "b"), args.concurrency)
                report["client_cache_rerun"] = client_rate(client, requests(args.requests, "b"), args.concurrency)
            cache.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    report["target_requests_per_s"] = 200
    report["meets_target"] = report["client_no_cache"]["requests_per_s"] >= 200
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    report["rerun_calls"] = report["client_cache_rerun"]["calls"]
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
