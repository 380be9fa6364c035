"""Benchmark: what the offline short-term window's recency decay does to ours (the model that reads the interests).

One graph: a seeded sample of ``--users`` users of a dataset through the pipeline (load, offline extraction,
concepts build / project / grow, lexicon classification). Then, for each ``--decays`` value, the offline interests of
every user are computed with that short-term decay (``OfflineParams.short_decay``; 1.0 = every interaction of the
window counts the same, the default) and ours is trained with each ``--seeds`` seed (the project's default
configuration, evaluation mode, nothing written back); valid and test NDCG@10 / Recall@20 are printed per decay as
mean ± std over the seeds. Every decay sees the same graph, split and seeds: only the short-term interest edges
differ. Needs a running Neo4j that it may CLEAR (use a scratch one).

    python bench/short_window.py --data ../shared/data/amazon-videogames-2018 --users 5000 --seeds 0,1,2 --yes
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from update_incremental import split  # noqa: E402

from kgrec_neo4j.concepts import build_vocabulary, grow_vocabulary, project_mentions  # noqa: E402
from kgrec_neo4j.core import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import clear_database, connect  # noqa: E402
from kgrec_neo4j.core.embed import get_embedder  # noqa: E402
from kgrec_neo4j.core.schema import load_pack  # noqa: E402
from kgrec_neo4j.extract.run import build_extractor, extract_items  # noqa: E402
from kgrec_neo4j.load import load  # noqa: E402
from kgrec_neo4j.model.pipeline import run_training  # noqa: E402
from kgrec_neo4j.users.interactions import classify_interactions, make_classifier  # noqa: E402
from kgrec_neo4j.users.interests.offline import OfflineParams, extract_offline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--pack", default="video_games")
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--decays", default="0.7,1.0")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--yes", action="store_true", help="the database may be cleared")
    a = ap.parse_args()
    if not a.yes:
        raise SystemExit("this benchmark clears the database: pass --yes (use a scratch Neo4j)")
    settings, pack = load_settings(), load_pack(a.pack)
    decays = [float(x) for x in a.decays.split(",")]
    seeds = [int(x) for x in a.seeds.split(",")]
    out: dict = {"data": str(a.data), "users": a.users, "seeds": seeds, "rows": []}
    with tempfile.TemporaryDirectory() as tmp, connect(settings) as db:
        base, _, sizes = split(a.data, Path(tmp), users=a.users, share=0.01, seed=0)
        out["sample"] = sizes
        clear_database(db)
        schema.apply(db, pack, dim=settings.embedding_dim)
        load(db, [base])
        emb = get_embedder(settings)
        t = time.perf_counter()
        extract_items(db, build_extractor(settings, "offline", pack=pack), pack=pack, progress=False)
        build_vocabulary(db, emb, pack, fraction=0.5, seed=0)
        project_mentions(db, emb, pack)
        grow_vocabulary(db, emb, pack)
        classify_interactions(db, make_classifier("lexicon", settings))
        print(f"pipeline on {sizes}: {time.perf_counter() - t:.0f}s", flush=True)
        for d in decays:
            rep = extract_offline(db, params=OfflineParams(short_decay=d, min_confidence=settings.min_confidence))
            for s in seeds:
                t = time.perf_counter()
                res = run_training(db, type_names=pack.names, model="ours", seed=s, write=False)
                r = res.report
                row = {"decay": d, "seed": s, "short_edges": rep.short, "valid": r.get("valid"), "test": r.get("test"),
                       "best_epoch": r.get("best_epoch"), "parts": r.get("parts"),
                       "seconds": round(time.perf_counter() - t, 1)}
                out["rows"].append(row)
                print(json.dumps(row), flush=True)
    print("| short-term decay | valid NDCG@10 | test NDCG@10 | test Recall@20 |\n|---|---|---|---|")
    for d in decays:
        rows = [r for r in out["rows"] if r["decay"] == d]

        def ms(split: str, key: str, rows: list = rows) -> str:
            v = np.array([float(r[split][key]) for r in rows])
            return f"{v.mean():.4f} ± {v.std():.4f}"
        print(f"| {d:g} | {ms('valid', 'ndcg@10')} | {ms('test', 'ndcg@10')} | {ms('test', 'recall@20')} |")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
