"""Benchmark: the whole training pipeline on the loaded database: GDS export -> train -> write-back.

Prints export seconds and counts, training seconds, write-back seconds and rows/s, and this process's peak
RSS; with ``--json PATH`` also writes them as JSON. Needs a running Neo4j with data (NEO4J_URI /
NEO4J_PASSWORD); ``--load FOLDER`` loads a dataset first (``--users N`` samples users). The new ModelRun
becomes current (use ``--no-writeback`` to leave the graph unchanged).

    python bench/train_full.py [--model ours] [--epochs 5] [--dim 64] [--max-seconds 600]
    python bench/train_full.py --load ../shared/data/amazon-videogames-2018 --proxy-concepts --epochs 1

``--proxy-concepts`` (benchmark only) adds title-token concepts (type ``Others``, ids ``proxy:<token>``) and
interests from train interactions when the graph has no concepts yet, so that the export carries all three edge
kinds at full scale before the LLM pipeline has run. They are not knowledge points: use a scratch database.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402
from kgrec_neo4j.model.pipeline import MODELS, run_training  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_proxy_concepts(db, *, min_items: int = 5, max_share: float = 0.05, top: int = 5,
                       batch_size: int = 5000) -> dict:
    """Title-token concepts and train-only interests (see the module docstring); returns counts."""
    import re
    import zlib
    from collections import Counter, defaultdict

    stop = {"the", "and", "for", "with", "of", "to", "in", "on", "new", "edition", "version", "pack", "game"}
    titles = {r["id"]: r["t"] for r in db.query("MATCH (i:Item) RETURN i.id AS id, i.title AS t")}
    toks = {i: set(t for t in re.findall(r"[a-z0-9]+", (title or "").lower())
                   if len(t) > 2 and not t.isdigit() and t not in stop) for i, title in titles.items()}
    df = Counter(t for ts in toks.values() for t in ts)
    vocab = {t for t, n in df.items() if min_items <= n <= max(min_items, max_share * len(titles))}
    db.write_batches("UNWIND $rows AS row MATCH (k:KnowledgeType {name: 'Others'}) "
                     "MERGE (c:Concept {id: row.id}) SET c.name = row.name, c.type = 'Others' "
                     "MERGE (c)-[:OF_TYPE]->(k)",
                     [{"id": f"proxy:{t}", "name": t} for t in sorted(vocab)], batch_size=batch_size)
    hk = [{"item": i, "c": f"proxy:{t}", "conf": round(0.5 + 0.5 * (zlib.crc32(f"{i}|{t}".encode()) % 1000) / 1000, 3)}
          for i, ts in toks.items() for t in ts if t in vocab]
    db.write_batches("UNWIND $rows AS row MATCH (i:Item {id: row.item}), (c:Concept {id: row.c}) "
                     "MERGE (i)-[r:HAS_KNOWLEDGE]->(c) SET r.confidence = row.conf, r.support = 1", hk,
                     batch_size=batch_size)
    liked: dict[str, Counter] = defaultdict(Counter)
    for r in db.query("MATCH (u:User)-[x:INTERACTED]->(i:Item) WHERE x.split = 'train' AND x.sign > 0 "
                      "RETURN u.id AS u, i.id AS i"):
        liked[r["u"]].update(t for t in toks.get(r["i"], ()) if t in vocab)
    ii = [{"u": u, "c": f"proxy:{t}", "w": n / cnt.most_common(1)[0][1]}
          for u, cnt in liked.items() for t, n in cnt.most_common(top)]
    db.write_batches("UNWIND $rows AS row MATCH (u:User {id: row.u}), (c:Concept {id: row.c}) "
                     "MERGE (u)-[r:INTERESTED_IN]->(c) SET r.horizon = 'long', r.polarity = 1, r.weight = row.w",
                     ii, batch_size=batch_size)
    return {"concepts": len(vocab), "item_concept_edges": len(hk), "user_concept_edges": len(ii)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=MODELS, default="ours")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--max-seconds", type=float, default=None, help="training time cap")
    ap.add_argument("--min-confidence", type=float, default=0.0)
    ap.add_argument("--no-writeback", action="store_true")
    ap.add_argument("--load", type=Path, default=None, help="load this dataset folder first")
    ap.add_argument("--users", type=int, default=None, help="with --load: a seeded sample of this many users")
    ap.add_argument("--proxy-concepts", action="store_true",
                    help="add title-token concepts and interests when the graph has no concepts (bench only)")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    a = ap.parse_args()

    settings = load_settings()
    db = connect(settings)
    pack = schema.load_pack(settings.type_pack)
    out: dict = {"model": a.model, "epochs": a.epochs, "dim": a.dim}
    if a.load:
        from kgrec_neo4j.load import load

        schema.apply(db, pack, dim=settings.embedding_dim)
        t = time.perf_counter()
        rep = load(db, [a.load], max_users=a.users, seed=settings.seed)
        out["load_s"] = round(time.perf_counter() - t, 2)
        print(f"load:       {rep.users_written} users, {rep.items_written} items, {rep.interactions_written} "
              f"interactions in {out['load_s']:.1f}s")
    if a.proxy_concepts and not db.value("MATCH (c:Concept) RETURN count(c) > 0"):
        t = time.perf_counter()
        out["proxy"] = add_proxy_concepts(db, batch_size=settings.batch_size)
        print(f"proxy:      {out['proxy']} in {time.perf_counter() - t:.1f}s")
    overrides = {"max_seconds": a.max_seconds} if a.max_seconds and a.model not in ("ease", "itemknn", "pop") else None
    t = time.perf_counter()
    res = run_training(db, type_names=pack.names, model=a.model, epochs=a.epochs, dim=a.dim,
                       min_confidence=a.min_confidence, write=not a.no_writeback, seed=settings.seed,
                       overrides=overrides, batch_size=settings.batch_size)
    total = time.perf_counter() - t
    ex, s = res.export, res.seconds
    out.update({"run": res.run, "export": ex, "seconds": s, "total_s": round(total, 2),
                "test": res.report["test"], "valid": res.report["valid"], "peak_rss_mb": round(peak_rss_mb(), 1)})
    edges = ex["train_interactions"] + ex["item_concept_edges"] + ex["user_concept_edges"]
    print(f"export:     {s['export']:.1f}s (GDS project {ex['timings']['project_s']:.1f}s, stream "
          f"{ex['timings']['stream_s']:.1f}s, held-out read {ex['timings']['heldout_s']:.1f}s): "
          f"{ex['users']} users, {ex['items']} items, {ex['concepts']} concepts, {edges} edges "
          f"({ex['train_interactions']} interactions, {ex['item_concept_edges']} item-concept, "
          f"{ex['user_concept_edges']} user-concept)")
    print(f"train:      {s['train']:.1f}s ({res.report['epochs']} epochs, {res.report['train_seconds']:.1f}s in "
          f"epochs, {res.report['eval_seconds']:.1f}s evaluating); test " +
          ", ".join(f"{k}={res.report['test'][k]:.4f}" for k in ("recall@10", "recall@20", "ndcg@10", "ndcg@20")))
    wb = res.writeback
    if wb:
        rows = wb["users"] + wb["items"] + wb["concepts"] + sum(wb["attention"].values())
        out["writeback_rows"] = rows
        out["writeback_rows_per_s"] = round(rows / max(s["writeback"], 1e-9), 1)
        print(f"write-back: {s['writeback']:.1f}s, {rows} rows ({wb['users'] + wb['items'] + wb['concepts']} "
              f"embeddings, {sum(wb['attention'].values())} edge attentions), {out['writeback_rows_per_s']:,.0f} "
              f"rows/s; vector index {wb['vector_index']}; clear stale {s.get('clear_stale', 0):.1f}s")
    print(f"total:      {total:.1f}s; peak RSS {out['peak_rss_mb']:.0f} MB; run {res.run}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2, default=str))
    db.close()


if __name__ == "__main__":
    main()
