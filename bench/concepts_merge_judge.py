"""An LLM as the judge of merge decisions: does it recover the merges the concept stage misses without false ones?

Each labelled pair of ``bench/data/merge_pairs.jsonl`` (``merge`` / ``apart``; docs/concepts.md, "The merge
benchmark") is put to an OpenAI-compatible chat endpoint with a JSON-schema answer ``{"same": bool}``. Printed:
precision and recall of the judge alone, of the concept stage's decision (``--decisions``: the JSON that
``bench/concepts_merge_pairs.py --json`` writes; its errors at the floor give the stage's decision per pair), and of
the two together (merged when the stage or the judge says so, the judge only above a cosine floor).

    python bench/concepts_merge_pairs.py --json merge.json
    python bench/concepts_merge_judge.py --decisions merge.json                 # the bundled SmolLM2 server
    python bench/concepts_merge_judge.py --decisions merge.json --base-url http://HOST:PORT/v1 --model NAME
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAIRS = Path(__file__).resolve().parent / "data" / "merge_pairs.jsonl"
SYSTEM = ("You decide whether two short product attribute values name the same value. Answer same=true only if they "
          "mean the same thing (spelling, word order, abbreviations, filler words may differ); same=false if they name "
          "different models, generations, numbers, sizes, editions, or different things.")
SCHEMA = {"type": "object", "properties": {"same": {"type": "boolean"}}, "required": ["same"]}


def ask(url: str, model: str, pair: dict, api_key: str | None, timeout_s: float = 60.0) -> bool | None:
    """The judge's answer for one pair (``None`` when it is not the JSON asked for)."""
    body = {"model": model, "temperature": 0, "max_tokens": 20,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": f"Attribute type: {pair['type']}\nValue A: {pair['a']}\n"
                                                     f"Value B: {pair['b']}\nDo A and B name the same value?"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "same", "schema": SCHEMA}}}
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
    req = urllib.request.Request(url.rstrip("/") + "/chat/completions", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        text = json.loads(resp.read())["choices"][0]["message"]["content"]
    try:
        same = json.loads(text)["same"]
    except (ValueError, KeyError, TypeError):
        return None
    return same if isinstance(same, bool) else None


def scores(decisions: list[bool], labels: list[str]) -> dict:
    tp = sum(d and lab == "merge" for d, lab in zip(decisions, labels))
    fp = sum(d and lab == "apart" for d, lab in zip(decisions, labels))
    fn = sum((not d) and lab == "merge" for d, lab in zip(decisions, labels))
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--decisions", type=Path, required=True, help="bench/concepts_merge_pairs.py --json output")
    ap.add_argument("--pairs", type=Path, default=PAIRS)
    ap.add_argument("--base-url", default=None, help="an OpenAI-compatible /v1 URL (default: start the bundled server)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--limit", type=int, default=None, help="the first N labelled pairs only")
    ap.add_argument("--cos-floors", default="0.6,0.7,0.8", help="the judge counts above these cosines only")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    rows = [json.loads(line) for line in open(a.pairs, encoding="utf-8") if line.strip()]
    rows = [r for r in rows if r["label"] in ("merge", "apart")][:a.limit]
    missed = {(e["a"], e["b"]) for e in json.loads(a.decisions.read_text())["errors_new"]}
    stage = [(r["label"] == "merge") != ((r["a"], r["b"]) in missed) for r in rows]
    home = None
    if a.base_url is None:
        from kgrec_neo4j.local import llm_server as server

        home = Path(tempfile.mkdtemp(prefix="kgrec-judge-"))
        info = server.start(home, port=0)
        base_url, model = info.base_url, a.model or info.model
    else:
        base_url, model = a.base_url, a.model or "default"
    try:
        t0 = time.perf_counter()
        judged = [ask(base_url, model, r, os.environ.get("KGREC_LLM_API_KEY")) for r in rows]
        seconds = time.perf_counter() - t0
    finally:
        if home is not None:
            server.stop(home)
    labels = [r["label"] for r in rows]
    out = {"pairs": len(rows), "model": model, "seconds": round(seconds, 1),
           "unparsed": sum(j is None for j in judged), "judge": scores([bool(j) for j in judged], labels),
           "stage": scores(stage, labels), "stage_or_judge": {}}
    for f in (float(x) for x in a.cos_floors.split(",")):
        out["stage_or_judge"][str(f)] = scores(
            [s or (bool(j) and r["cos_minilm"] >= f) for s, j, r in zip(stage, judged, rows)], labels)
    print(json.dumps(out, indent=1))
    if a.json:
        a.json.write_text(json.dumps({**out, "answers": [{**r, "judge": j} for r, j in zip(rows, judged)]}, indent=1))
    return out


if __name__ == "__main__":
    main()
