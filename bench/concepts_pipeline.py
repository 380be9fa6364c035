"""The knowledge half of the pipeline on a real dataset, with the coverage and sharing numbers of the concepts.

From an EMPTY database (``--reset`` deletes everything in it first): schema, load (``--users`` sampled
users, as ``kgrec demo`` does), offline extraction, ``concepts build`` on a ``--sample`` of the items,
``project``, ``grow`` (new concepts need two items), ``grow --min-items 1`` (every remaining value its own
concept), family relations and SAME_WORK links, each timed. Then, per type and in all (after ``grow`` and
after ``grow --min-items 1``):

* coverage: share of ``Mention`` nodes, and of item mentions (``MENTIONS`` edges), with a ``CANONICAL`` edge;
* sharing: concepts, how many exactly one item has, and concepts by number of items (1, 2, 3-5, 6-10, 11-50, 51+);
* ``BROADER`` and ``SAME_WORK`` edges;
* the ``CANONICAL`` edges whose similarity is below ``--low`` (default 0.5), per method and listed: mentions that
  joined their concept by the same content words against the encoder's judgement, the decisions to read by hand.

    NEO4J_URI=... NEO4J_PASSWORD=... python bench/concepts_pipeline.py --reset \\
        --data ../shared/data/amazon-videogames-2018 --users 2000 [--pack video_games] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.concepts.build import build_vocabulary  # noqa: E402
from kgrec_neo4j.concepts.grow import grow_vocabulary  # noqa: E402
from kgrec_neo4j.concepts.project import project_mentions  # noqa: E402
from kgrec_neo4j.concepts.report import coverage_markdown, coverage_stats  # noqa: E402
from kgrec_neo4j.concepts.works import link_same_work  # noqa: E402
from kgrec_neo4j.core import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import clear_database, connect  # noqa: E402
from kgrec_neo4j.core.embed import get_embedder  # noqa: E402
from kgrec_neo4j.extract.run import build_extractor, extract_items  # noqa: E402
from kgrec_neo4j.load import load  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reset", action="store_true", help="DELETE everything in the database first")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--pack", default=None, help="type pack (default: video_games, office_products for Office)")
    ap.add_argument("--users", type=int, default=None, help="seeded sample of users (default: all)")
    ap.add_argument("--sample", type=float, default=0.25, help="share of mentioned items for the first vocabulary")
    ap.add_argument("--low", type=float, default=0.5, help="list the CANONICAL edges below this similarity")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()

    settings = load_settings()
    db = connect(settings)
    if db.value("MATCH (n) RETURN count(n) > 0") and not a.reset:
        raise SystemExit("the database is not empty; pass --reset to delete everything in it")
    clear_database(db)
    pack = schema.load_pack(a.pack or ("office_products" if "office" in a.data.name else "video_games"))
    res: dict = {"dataset": a.data.name, "pack": pack.name, "users": a.users, "cpus": os.cpu_count(),
                 "load_average_start": round(os.getloadavg()[0], 2), "stages": {}}

    def stage(name, fn):
        t = time.perf_counter()
        out = fn()
        res["stages"][name] = round(time.perf_counter() - t, 1)
        print(f"{name}: {res['stages'][name]} s (load {os.getloadavg()[0]:.1f})", flush=True)
        return out

    stage("schema", lambda: schema.apply(db, pack, dim=settings.embedding_dim))
    stage("load", lambda: load(db, [a.data], max_users=a.users, seed=settings.seed, batch_size=settings.batch_size))
    ex = build_extractor(settings, "offline", pack=pack)
    rep = stage("extract", lambda: extract_items(db, ex, progress=False, pack=pack))
    res["extract"] = {"items": rep.items_done, "points": rep.points, "items_per_s": rep.items_per_second}
    emb = get_embedder(settings)
    stage("build", lambda: build_vocabulary(db, emb, pack, fraction=a.sample, seed=settings.seed))
    stage("project", lambda: project_mentions(db, emb, pack))
    stage("grow", lambda: grow_vocabulary(db, emb, pack))
    grown = coverage_stats(db)
    res["coverage_after_grow"] = {t.type: {"coverage": round(t.coverage, 4), "item_coverage": round(t.item_coverage, 4),
                                           "concepts": t.concepts, "single_item": t.single_item} for t in grown}
    print("after build, project, grow:\n" + coverage_markdown(grown))
    stage("grow (min-items 1)", lambda: grow_vocabulary(db, emb, pack, min_items=1))
    sw = stage("same work", lambda: link_same_work(db, pack, settings=settings))
    res["same_work"] = {"links": sw.edges, "by_kind": sw.by_kind}
    res["broader_edges"] = db.value("MATCH ()-[r:BROADER]->() RETURN count(r)")
    stats = coverage_stats(db)
    res["coverage"] = [t.model_dump() | {"coverage": round(t.coverage, 4), "item_coverage": round(t.item_coverage, 4),
                                         "single_item_share": round(t.single_item_share, 4)} for t in stats]
    res["load_average_end"] = round(os.getloadavg()[0], 2)
    print("after grow --min-items 1:\n" + coverage_markdown(stats))
    print(f"BROADER edges: {res['broader_edges']}; SAME_WORK links: {sw.edges} {sw.by_kind}")
    low = db.query("MATCH (m:Mention)-[r:CANONICAL]->(c:Concept) WHERE r.similarity < $low "
                   "RETURN r.method AS method, m.type AS type, m.text AS mention, c.name AS concept, "
                   "round(r.similarity, 3) AS similarity ORDER BY similarity, type, mention", low=a.low)
    res["low_similarity"] = {"below": a.low, "edges": len(low), "rows": low}
    by_method = dict(Counter(r["method"] for r in low))
    print(f"CANONICAL edges below similarity {a.low}: {len(low)} {by_method}")
    for r in low:
        print(f"  {r['similarity']:.3f} {r['method']:<10} [{r['type']}] {r['mention']!r} -> {r['concept']!r}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
