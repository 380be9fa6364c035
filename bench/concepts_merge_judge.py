"""An LLM as the judge of merge decisions: does it recover the merges the concept stage misses without false ones?

Each labelled pair of ``bench/data/merge_pairs.jsonl`` (``merge`` / ``apart``; docs/concepts.md, "The merge
benchmark") is put to an OpenAI-compatible chat endpoint through the project's LLM client
(:class:`~kgrec_neo4j.llm.LLMClient`) with a JSON-schema answer ``{"same": bool}``. Printed:
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
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.concepts_merge_pairs import PAIRS, scores  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.llm import LLMClient, StructuredRequest  # noqa: E402

SYSTEM = ("You decide whether two short product attribute values name the same value. Answer same=true only if they "
          "mean the same thing (spelling, word order, abbreviations, filler words may differ); same=false if they name "
          "different models, generations, numbers, sizes, editions, or different things.")


class Same(BaseModel):
    same: bool


def request(k: int, pair: dict) -> StructuredRequest:
    """The question for one pair; its answer is :class:`Same`."""
    return StructuredRequest(str(k), [{"role": "system", "content": SYSTEM},
                                      {"role": "user", "content": f"Attribute type: {pair['type']}\nValue A: "
                                                                  f"{pair['a']}\nValue B: {pair['b']}\n"
                                                                  "Do A and B name the same value?"}],
                             Same, prompt_version="merge-judge-1", max_tokens=20)


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
        over = {"llm_base_url": info.base_url, "llm_model": a.model or info.model}
    else:
        over = {"llm_base_url": a.base_url, **({"llm_model": a.model} if a.model else {})}
    settings = load_settings(over)  # the API key, if the endpoint needs one, from the environment as always
    try:
        # no cache (the bench measures the model), one answer per pair (no output retries), temperature 0
        with LLMClient(settings, cache=False, concurrency=1, max_output_retries=0) as client:
            t0 = time.perf_counter()
            results = client.run_structured([request(k, r) for k, r in enumerate(rows)])
            seconds = time.perf_counter() - t0
            model = client.model_name
    finally:
        if home is not None:
            server.stop(home)
    judged = [res.value.same if isinstance(res.value, Same) else None for res in results]
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
