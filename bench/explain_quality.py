"""Benchmark: explanation quality — path validity, fidelity, and the mix of explanation types.

It builds its own graph (it EMPTIES the database): a real dataset loaded with ``kgrec load``, PROXY
concepts and interests from ``kgrec_neo4j.model.data.from_jsonl`` (train edges only; the LLM pipeline
is not run here), a :class:`~kgrec_neo4j.model.gnn.KGRecGNN` trained in-process with BPR for a few
hundred steps, and its embeddings and attention written back with ``kgrec_neo4j.model.writeback``
as a current ``(:ModelRun)``. Then, for ``--pairs`` sampled (user, recommended item) pairs:

* validity: every path shown is re-MATCHed by ``cypher/explain/verify_paths.cypher`` (must be 100%);
* fidelity: remove the user-side edge of the strongest positive path (INTERESTED_IN, or INTERACTED of a
  liked item) and re-score the pair; faithful when the score drops. Two scorers: a SURROGATE for all
  pairs (last-layer message removal from the stored ``attention_signed`` and ``gnn_embedding``, see
  :func:`surrogate_deltas`), and, for the first ``--model-pairs``, the model itself: the SAME trained
  parameters run on the train graph without the edge (exact stage-2 attention, no sampling);
* mix: explanation types (the kind of the strongest positive path, or ``none``) and how many items
  also carry a negative path.

    python bench/explain_quality.py [--data ../shared/data/movielens-100k] [--pairs 500] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402
from kgrec_neo4j.serve import explain as E  # noqa: E402
from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import scoring as S  # noqa: E402

HPARAMS = {"embedding_dim": 32, "num_ui_layers": 2, "num_fused_layers": 1}


def clear(db) -> None:
    from kgrec_neo4j.core.db import clear_database

    clear_database(db)


def train_model(tg, *, steps: int = 100, batch: int = 2048, lr: float = 0.01, seed: int = 0):
    """A short BPR training of KGRecGNN on ``tg`` (bench only; the project's trainer is ``kgrec train``)."""
    import torch

    from kgrec_neo4j.model.gnn import KGRecGNN
    from kgrec_neo4j.model.losses import bpr_loss

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = KGRecGNN(tg, **HPARAMS)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    pos = np.flatnonzero(tg.ui_sign > 0)
    model.train()
    for step in range(steps):
        e = rng.choice(pos, size=min(batch, pos.size), replace=False)
        users = torch.from_numpy(tg.ui_user[e])
        items = torch.from_numpy(np.concatenate([tg.ui_item[e], rng.integers(0, tg.num_items, e.size)]))
        u, i = model(users, items, max_neighbors=64)
        loss = bpr_loss((u * i[: e.size]).sum(-1), (u * i[e.size:]).sum(-1)) + 1e-5 * (u.pow(2).sum() + i.pow(2).sum()) / e.size
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            print(f"  step {step}: loss {loss.item():.4f}", flush=True)
    model.eval()
    return model


def build_bench_graph(db, data: Path, *, steps: int = 100, seed: int = 0):
    """Load ``data``, add proxy concepts and interests, train, write back; return ``(tg, model, run)``."""
    import torch

    from kgrec_neo4j.load import load
    from kgrec_neo4j.model import runs, writeback
    from kgrec_neo4j.model.data import dataset_paths, from_jsonl

    settings = db.settings
    clear(db)
    schema.apply(db, schema.load_pack("video_games"), dim=settings.embedding_dim)
    t0 = time.perf_counter()
    load(db, [data])
    items_p, inter_p = dataset_paths(data)
    tg = from_jsonl(items_p, inter_p)
    print(f"loaded {data.name} in {time.perf_counter() - t0:.0f}s: {tg.summary()}", flush=True)
    # proxy concepts (type = proxy rule name) and interests: exactly the train graph's edges
    cid = tg.concept_ids
    db.write_batches("""UNWIND $rows AS row MERGE (c:Concept {id: row.id}) SET c.name = row.name, c.type = row.type""",
                     [{"id": c, "name": c.split("|", 1)[1], "type": c.split("|", 1)[0]} for c in cid])
    db.write_batches("""UNWIND $rows AS row MATCH (i:Item {id: row.item}), (c:Concept {id: row.concept})
                        MERGE (i)-[r:HAS_KNOWLEDGE]->(c) SET r.confidence = row.w, r.support = 1""",
                     [{"item": tg.item_ids[i], "concept": cid[c], "w": float(w)}
                      for i, c, w in zip(tg.ic_item.tolist(), tg.ic_concept.tolist(), tg.ic_weight.tolist())])
    db.write_batches("""UNWIND $rows AS row MATCH (u:User {id: row.user}), (c:Concept {id: row.concept})
                        MERGE (u)-[r:INTERESTED_IN]->(c)
                        SET r.horizon = row.horizon, r.polarity = row.polarity, r.weight = row.w, r.confidence = 1.0""",
                     [{"user": tg.user_ids[u], "concept": cid[c], "horizon": "short" if h else "long",
                       "polarity": int(p), "w": float(w)}
                      for u, c, h, p, w in zip(tg.uc_user.tolist(), tg.uc_concept.tolist(), tg.uc_horizon.tolist(),
                                               tg.uc_polarity.tolist(), tg.uc_weight.tolist())])
    seq = {(r["u"], r["i"]): r["seq"] for r in db.query(
        "MATCH (u:User)-[x:INTERACTED]->(i:Item) WHERE x.split = 'train' RETURN u.id AS u, i.id AS i, min(x.seq) AS seq")}
    tg.meta["ui_seq"] = np.array([seq[(tg.user_ids[u], tg.item_ids[i])]
                                  for u, i in zip(tg.ui_user.tolist(), tg.ui_item.tolist())], np.int64)
    t0 = time.perf_counter()
    model = train_model(tg, steps=steps, seed=seed)
    print(f"trained in {time.perf_counter() - t0:.0f}s", flush=True)
    with torch.no_grad():
        u, i, c = model()
    run = runs.new_run_id("kgrec-gnn-bench")
    runs.create_run(db, run, model="KGRecGNN (bench/explain_quality.py, proxy concepts)",
                    config={**HPARAMS, "steps": steps}, dataset=data.name)
    writeback.write_back(db, tg, run, users=u.numpy(), items=i.numpy(), concepts=c.numpy(),
                         attention=model.edge_attention())
    runs.finish_run(db, run, metrics={})
    runs.set_current(db, run)
    S.clear_cache()
    return tg, model, run


# ------------------------------------------------------------------------------------------- fidelity

def without_edge(tg, path: E.ExplanationPath, index: dict[str, dict[str, int]]):
    """A copy of ``tg`` without the user-side edge of ``path`` (INTERESTED_IN or INTERACTED)."""
    g = copy.copy(tg)
    u = index["user"][path.user]
    if path.kind in ("interest", "negative_interest"):
        c = index["concept"][path.concept]
        keep = ~((tg.uc_user == u) & (tg.uc_concept == c))
        for name in ("uc_user", "uc_concept", "uc_horizon", "uc_polarity", "uc_weight"):
            setattr(g, name, getattr(tg, name)[keep])
    else:
        j = index["item"][path.via]
        keep = ~((tg.ui_user == u) & (tg.ui_item == j))
        for name in ("ui_user", "ui_item", "ui_sign", "ui_weight"):
            setattr(g, name, getattr(tg, name)[keep])
    removed = int((~keep).sum())
    return g, removed


def pair_score(tg, params: dict, u: int, i: int) -> float | None:
    """Score of (u, i) by a model on ``tg`` with the trained ``params`` (None if the relations changed)."""
    import torch

    from kgrec_neo4j.model.gnn import KGRecGNN

    m = KGRecGNN(tg, **HPARAMS)
    own = dict(m.named_parameters())
    if any(own[k].shape != v.shape for k, v in params.items()):
        return None
    with torch.no_grad():
        for k, v in params.items():
            own[k].copy_(v)
        m.eval()
        ue, ie = m(torch.tensor([u]), torch.tensor([i]))
    return float((ue * ie).sum())


SURROGATE_QUERY = """
UNWIND $rows AS row
MATCH (a)-[e]->(b) WHERE elementId(e) = row.rel
RETURN row.n AS n, coalesce(e.attention_signed, e.attention) AS a, b.gnn_embedding AS x
"""


def surrogate_deltas(db, pairs: list[tuple[str, E.ExplanationPath]], m: S.ItemMatrix,
                     users: dict[str, np.ndarray]) -> list[float | None]:
    """Score change when the user-side edge of each path is removed, by last-layer message removal.

    The model's last stage-2 layer gives ``h_u = x_u + sum_e a_e * x_src(e)`` over the edges into ``u``; removing
    edge ``e`` takes ``a_e * x_src`` out of ``h_u``, so ``score' - score = -a_e * (x_src . h_i)``, with ``a_e`` the
    stored ``attention_signed`` and ``x_src`` the source's stored ``gnn_embedding`` (exact for concepts, whose rows
    the last layer leaves unchanged; the item's final embedding stands in for its layer input). Softmax
    renormalisation and the stage-1 change are ignored.
    """
    rows = [{"n": n, "rel": p.rels[0]} for n, (_, p) in enumerate(pairs)]
    got = {r["n"]: r for r in db.query(SURROGATE_QUERY, rows=rows)}
    out: list[float | None] = []
    for n, (_user, p) in enumerate(pairs):
        r = got.get(n)
        if r is None or r["a"] is None or r["x"] is None:
            out.append(None)
            continue
        hi = m.vectors[m.index[p.item]]
        out.append(-float(r["a"]) * float(np.dot(np.asarray(r["x"], np.float32), hi)))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-100k")
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--model-pairs", type=int, default=20,
                    help="Pairs also re-scored by the model itself (seconds each on a busy 2-core machine).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch

    db = connect(load_settings())
    tg, model, run = build_bench_graph(db, args.data, steps=args.steps, seed=args.seed)
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    index = {"user": {x: n for n, x in enumerate(tg.user_ids)}, "item": {x: n for n, x in enumerate(tg.item_ids)},
             "concept": {x: n for n, x in enumerate(tg.concept_ids)}}

    t0 = time.perf_counter()
    recs = R.recommend_users(db, tg.user_ids, args.k, store=True, explain=True)
    t_rec = time.perf_counter() - t0
    pairs = [(rec.user, r) for rec in recs for r in rec.items]
    rng = np.random.default_rng(args.seed)
    sample = [pairs[n] for n in rng.choice(len(pairs), size=min(args.pairs, len(pairs)), replace=False)]

    # validity: every path shown for the sampled pairs, re-matched by a separate query
    shown = [p for _, r in sample for p in r.explanation.paths]
    ok = E.verify_paths(db, shown)
    mix = Counter(r.explanation.kind for _, r in sample)
    with_negative = sum(1 for _, r in sample if r.explanation.negative)

    # fidelity 1 (all sampled pairs): surrogate re-scoring from the written-back attention and embeddings
    m = S.item_matrix(db, run)
    with_pos = [(user, r.explanation.positive[0]) for user, r in sample if r.explanation.positive]
    sur = surrogate_deltas(db, with_pos, m, {})
    sur_ok = [d for d in sur if d is not None]
    # fidelity 2 (the first --model-pairs of them): the model's own forward pass without the edge
    drops, n_fid, skipped, deltas, agree = 0, 0, 0, [], 0
    t0 = time.perf_counter()
    for n, ((user, top), sd) in enumerate(zip(with_pos[: args.model_pairs], sur)):
        u, i = index["user"][user], index["item"][top.item]
        with torch.no_grad():
            ue, ie = model(torch.tensor([u]), torch.tensor([i]))  # the trained model on the full train graph
        base = float((ue * ie).sum())
        g, removed = without_edge(tg, top, index)
        after = pair_score(g, params, u, i) if removed else None
        if after is None:
            skipped += 1
            continue
        n_fid += 1
        deltas.append(after - base)
        drops += after < base
        agree += sd is not None and (sd < 0) == (after < base)
        print(f"  model re-score {n + 1}/{args.model_pairs}: delta {after - base:+.4f} "
              f"(surrogate {sd if sd is None else round(sd, 4)})", flush=True)
    t_model = time.perf_counter() - t0
    out = {
        "dataset": args.data.name, "run": run, "users": tg.num_users, "items": tg.num_items,
        "concepts": tg.num_concepts, "k": args.k, "pairs": len(sample),
        "recommend_explain_all_users_s": round(t_rec, 1),
        "validity": {"paths": len(shown), "valid": int(sum(ok)), "share": (sum(ok) / len(shown)) if shown else None},
        "fidelity": {
            "surrogate": {"pairs_with_positive_path": len(with_pos), "rescored": len(sur_ok),
                          "score_dropped": int(sum(d < 0 for d in sur_ok)),
                          "share": (sum(d < 0 for d in sur_ok) / len(sur_ok)) if sur_ok else None,
                          "median_delta": float(np.median(sur_ok)) if sur_ok else None,
                          "scorer": "last-layer message removal from stored attention_signed and gnn_embedding"},
            "model": {"pairs": n_fid, "skipped": skipped, "score_dropped": drops,
                      "share": drops / n_fid if n_fid else None,
                      "median_delta": float(np.median(deltas)) if deltas else None,
                      "agrees_with_surrogate": agree,
                      "scorer": "KGRecGNN forward, trained parameters, train graph minus the edge",
                      "seconds": round(t_model, 1)},
        },
        "mix": dict(mix), "with_negative_path": with_negative,
        "path_kinds": dict(Counter(p.kind for p in shown)),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    db.close()
    return out


if __name__ == "__main__":
    main()
