"""Benchmark: new-item (cold-start) quality, where the knowledge graph should matter most.

A seeded ``--share`` (5%) of the items that have at least one interaction is held out of training entirely:

* **base** = every interaction not on a held-out item (each user keeps the order of the rest of the history);
* **change** = the held-out items and every interaction on them, appended after the users' stored interactions
  (``kgrec load --append``), which splits the touched users' histories again, last-two-out: an appended
  interaction on a held-out item becomes that user's test (or valid) item, or a train one when the user has three
  or more of them.

The base goes through every stage (load, offline extraction, concepts build / project / grow, lexicon
classification, offline interests), ``ours`` is trained on it with the project's default configuration, the
change is appended and ``kgrec update`` (:func:`~kgrec_neo4j.update.run_update`) extracts the new items, projects
them onto the concepts and folds them into the run. Each part is timed.

Evaluated: the users whose **test** interaction (after the append) is on a held-out item. Every method scores
from the user's **train** split only (the test item is never an input) and the user's train items are excluded
from the candidates. Recall@20 and NDCG@10 (one test item per user), (a) ranking the held-out items only (the
new-item question) and (b) ranking every item (does the new item surface at all). Ties are broken by a seeded
permutation of the items. Methods:

* ``ours``: the run's user vector folded in from the train history, times the stored item vectors (the held-out
  items' are those ``kgrec update`` folded in from their knowledge and their train interactions), plus the run's
  item-graph part (for a new item: the links ``kgrec update`` borrowed from its nearest trained items, by text);
* ``ours-knowledge-neighbours``: ours with the held-out items' borrowed links computed in memory from their
  **knowledge** neighbours (the trained items sharing most of their concepts; the rule before their nearest trained
  items by text, ``borrow_from = "knowledge"``). The same code with the configured rule recomputes the stored links
  as a check: ``borrowed_stored_vs_recomputed_max_abs`` in the output's ``info`` is 0 when the stored links are what
  the rule computes;
* ``ours-into-only``: ours with the held-out items' borrowed links by the rule before 2026-12-05, recomputed in
  memory: links into each new item only (no links out of a new item, none between new items), so that a user's
  interaction with a new item counted through its folded-in vector only;
* ``ours-unscaled``: ours with the held-out items' folded-in vectors as the fold-in gives them, before the update
  scales them to the median length of the trained items' vectors (divided by the update's ``fold_norm_scale``);
* ``ours-gnn-part``: ours without its item-graph part (the GNN part alone, as in docs/results.md section 1): what
  the new items' folded-in vectors do on their own, against warm items that then lose their item-graph part too;
* ``ours-no-concepts``: the same run and users, the held-out items folded in **without their knowledge**
  (interactions only), computed in memory (:func:`~kgrec_neo4j.model.newitems.fold_item_vectors`), and without
  the item links they borrowed: the ablation "new items from their interactions only" (neither knowledge nor
  text);
* ``popularity``: train-split interaction counts (a held-out item counts only the train interactions the append
  gave it);
* ``itemknn-text``: ItemKNN on item text embeddings (the project's embedder, the text the extractor reads):
  ``score(u, i) = sum over the user's train items j among i's k most similar items of cos(i, j)``;
* ``random``: a seeded random ranking (the floor).

What surfacing new items costs the other users: the same methods on up to ``--trained-users`` (3,000) users whose
test (valid) item is a **trained** item, sampled with the seed, every item ranked (the held-out ones included).

The same numbers on the users whose **valid** item is held out are printed too, and NDCG@10 over **every** valid
(and test) user with every item ranked (the held-out-item users, and the trained-item users weighted by their number
from the sample): the number that chose the update's ``borrow_scale`` among ``--link-variants`` (``ours-links-x1.5``:
the new items' borrowed links, as the update's rule computes them, times 1.5; ``norm`` / ``max``: scaled to their
neighbours' length or largest link; docs/results.md section 9). Needs a running Neo4j (NEO4J_URI /
NEO4J_PASSWORD) that it may CLEAR: use a scratch one.

    python bench/coldstart_items.py --data ../shared/data/amazon-office-2018 --pack office_products \
        --seeds 0,1,2 --json results/coldstart-office.json --yes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.update_incremental import _find as find  # noqa: E402
from bench.update_incremental import _read as read_jsonl  # noqa: E402
from kgrec_neo4j.model.itemtext import text_knn  # noqa: E402

METHODS = ("ours", "ours-into-only", "ours-knowledge-neighbours", "ours-unscaled", "ours-no-concepts", "ours-gnn-part",
           "popularity", "itemknn-text", "random")
SCOPES = ("held-out", "all")


# ================================================================================ split
def split_items(items: list[dict], inter: list[dict], *, share: float, seed: int
                ) -> tuple[list[dict], list[dict], list[dict], list[dict], set[str]]:
    """``(base items, base interactions, change items, change interactions, held-out item ids)``.

    ``share`` of the items with at least one interaction (at least one item) are held out, drawn with ``seed``;
    the base has every other interaction and the items they name, the change the held-out items and every
    interaction on them. Both keep the input order (each user's history order)."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1) (got {share})")
    used = sorted({r["item_id"] for r in inter})
    rng = np.random.default_rng(seed)
    held = set(rng.choice(used, max(1, int(round(share * len(used)))), replace=False).tolist())
    base = [r for r in inter if r["item_id"] not in held]
    more = [r for r in inter if r["item_id"] in held]
    base_ids = {r["item_id"] for r in base}
    return ([r for r in items if r["item_id"] in base_ids], base,
            [r for r in items if r["item_id"] in held], more, held)


def write_split(data: Path, out: Path, *, share: float, seed: int) -> tuple[Path, Path, set[str], dict[str, int]]:
    """The base and change folders (named like ``data``, so that both load as the same dataset), the held-out
    item ids and the sizes."""
    items, inter = read_jsonl(find(data, "items")), read_jsonl(find(data, "interactions"))
    b_items, b_inter, m_items, m_inter, held = split_items(items, inter, share=share, seed=seed)

    def write(folder: Path, its: list[dict], xs: list[dict]) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in its))
        (folder / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in xs))
        return folder

    sizes = {"items_with_interactions": len({r["item_id"] for r in inter}), "interactions": len(inter),
             "users": len({r["user_id"] for r in inter}),
             "base_items": len(b_items), "base_interactions": len(b_inter),
             "held_out_items": len(held), "change_interactions": len(m_inter),
             "users_touched": len({r["user_id"] for r in m_inter}),
             "new_users": len({r["user_id"] for r in m_inter} - {r["user_id"] for r in b_inter})}
    return write(out / "base" / data.name, b_items, b_inter), write(out / "more" / data.name, m_items, m_inter), \
        held, sizes


# ================================================================================ metrics
def ranks(scores: np.ndarray, targets: np.ndarray, candidates: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target among its candidates.

    Args:
        scores: ``(B, n)`` scores. targets: ``(B,)`` item index of each row's target.
        candidates: ``(B, n)`` bool: the items that compete in each row (the target must be one).
        tie: ``(n,)`` a permutation: among equal scores the lower value ranks first.
    """
    b = np.arange(scores.shape[0])
    if not candidates[b, targets].all():
        raise ValueError("every target must be among its row's candidates")
    t = scores[b, targets][:, None]
    better = (scores > t) | ((scores == t) & (tie[None, :] < tie[targets][:, None]))
    return (better & candidates).sum(1) + 1


def recall_ndcg(rank: np.ndarray, *, k_recall: int = 20, k_ndcg: int = 10) -> tuple[float, float]:
    """Mean Recall@k_recall and NDCG@k_ndcg of one relevant item per user at 1-based ``rank``."""
    rank = np.asarray(rank, np.float64)
    if not rank.size:
        return float("nan"), float("nan")
    recall = (rank <= k_recall).mean()
    ndcg = np.where(rank <= k_ndcg, 1.0 / np.log2(rank + 1.0), 0.0).mean()
    return float(recall), float(ndcg)


# ================================================================================ evaluation
def _labels(tg: Any, split: str, index: dict[str, int], held: np.ndarray, *, trained: bool = False) -> dict[str, int]:
    """user id -> run item index of the user's ``split`` item, for the users whose item is held out (``trained``:
    whose item is one the run was trained on)."""
    out = {}
    for u, items in tg.heldout(split).items():
        j = index.get(tg.item_ids[items[0]]) if items else None
        if j is not None and bool(held[j]) != trained:
            out[tg.user_ids[u]] = j
    return out


def parse_variant(v: str, neighbours: int) -> tuple[int, str | float, float | None]:
    """A ``--link-variants`` entry as ``(neighbours, calibrate, own)``: ``[n<k>](x<factor> | norm | max)[o<own>]``,
    e.g. ``x2``, ``x1.5o3``, ``n5x1.5`` (``neighbours`` when no ``n<k>``)."""
    m = re.fullmatch(r"(?:n([1-9]\d*))?(x\d+(?:\.\d+)?|norm|max)(?:o(\d+(?:\.\d+)?))?", v)
    if m is None:
        raise SystemExit(f"--link-variants: {v!r} is not [n<k>](x<factor>|norm|max)[o<factor>] (e.g. n5x1.5o3)")
    k, rule, own = m.groups()
    return (int(k) if k else neighbours, rule if rule in ("norm", "max") else float(rule[1:]),
            float(own) if own else None)


def borrowed_links(links: sp.csr_matrix, near: dict[str, list[tuple[str, float]]], index: dict[str, int],
                   ids: list[str], targets: list[str], *, top_k: int, calibrate: str | float | None = None,
                   own: float | None = None, rows: bool = True) -> sp.csr_matrix:
    """``links`` (row: source item) with the links of ``targets`` (the items folded in, all borrowing now) replaced by
    links borrowed from their neighbours ``near`` (:func:`kgrec_neo4j.model.newitems.nearest_trained_items`), as
    ``kgrec update`` computes them: into each target, its neighbours' links in and each neighbour's own link; with
    ``rows`` (the rule since 2026-12-05) also the links into it from the other targets (each one's neighbours' links
    into it, as just computed, times the factor again) and its own links out (its neighbours' links out to trained
    items, and to each neighbour itself as strongly as that neighbour's strongest link out). ``ids``: item id per
    index (the tie order of equal weights). ``calibrate``: a number multiplies each borrowed link (the update's
    ``borrow_scale``); variants, not what the update does: ``"norm"`` scales a target's links in to the
    share-weighted mean L2 length of its neighbours' columns, ``"max"`` its largest weight to the share-weighted mean
    of theirs (its other links unscaled). ``own``: a factor on the neighbours' own links in instead of ``calibrate``
    (None: the same factor as the rest)."""
    keep = np.ones(links.shape[1], np.float64)
    keep[[index[t] for t in targets]] = 0.0
    base = (sp.diags(keep) @ links @ sp.diags(keep)).tocsr()  # the trained items' links only
    csc, csr = base.tocsc(), base
    factor_all = float(calibrate) if isinstance(calibrate, (int, float)) else 1.0
    folded_by: dict[str, list[tuple[int, float]]] = {}
    for t in targets:
        for w, share in near.get(t, []):
            folded_by.setdefault(w, []).append((index[t], share))
    base_coo = base.tocoo()
    r_all, c_all, v_all = [base_coo.row], [base_coo.col], [base_coo.data.astype(np.float64)]

    def put(src: list[int], dst: list[int], val: list[float]) -> None:
        r_all.append(np.asarray(src, np.int64))
        c_all.append(np.asarray(dst, np.int64))
        v_all.append(np.asarray(val, np.float64))

    for t in targets:
        n = index[t]
        acc: dict[int, float] = {}
        own_acc: dict[int, float] = {}
        for w, share in near.get(t, []):
            col = csc[:, index[w]]
            for j, x in zip(col.indices.tolist(), (share * col.data.astype(np.float64)).tolist(), strict=True):
                acc[j] = acc.get(j, 0.0) + x
            if col.nnz:
                own_acc[index[w]] = own_acc.get(index[w], 0.0) + share * max(float(col.data.max()), 0.0)
        if own is not None and isinstance(calibrate, (int, float)) and calibrate:
            own_acc = {j: x * own / calibrate for j, x in own_acc.items()}  # times ``calibrate`` below: ``own``
        for j, x in own_acc.items():
            acc[j] = acc.get(j, 0.0) + x
        best = sorted(((j, x) for j, x in acc.items() if j != n and x != 0.0), key=lambda r: (-abs(r[1]), ids[r[0]]))
        best = best[:top_k]
        if calibrate is not None and best:
            got = np.asarray([x for _, x in best], np.float64)
            if isinstance(calibrate, (int, float)):
                factor = calibrate
            else:
                theirs = [(share, csc[:, index[w]].data.astype(np.float64)) for w, share in near.get(t, [])]
                if calibrate == "norm":
                    want = sum(share * float(np.linalg.norm(d)) for share, d in theirs)
                    have = float(np.linalg.norm(got))
                else:
                    want = sum(share * float(np.abs(d).max()) for share, d in theirs if d.size)
                    have = float(np.abs(got).max())
                factor = want / have if have > 0 else 1.0
            best = [(j, x * factor) for j, x in best]
        put([j for j, _ in best], [n] * len(best), [x for _, x in best])
        if not rows:
            continue
        nn: dict[int, float] = {}
        for j, b in best:
            for o, share in folded_by.get(ids[j], ()):
                if o != n:
                    nn[o] = nn.get(o, 0.0) + share * b
        got_nn = sorted(((o, x * factor_all) for o, x in nn.items() if x != 0.0), key=lambda r: (-abs(r[1]), ids[r[0]]))
        got_nn = got_nn[:top_k]
        put([o for o, _ in got_nn], [n] * len(got_nn), [x for _, x in got_nn])
        out: dict[int, float] = {}
        for w, share in near.get(t, []):
            row = csr[index[w]]
            for x, v in zip(row.indices.tolist(), (share * row.data.astype(np.float64)).tolist(), strict=True):
                out[x] = out.get(x, 0.0) + v
            if row.nnz:
                out[index[w]] = out.get(index[w], 0.0) + share * max(float(row.data.max()), 0.0)
        got_out = sorted(((x, v * factor_all) for x, v in out.items() if x != n and v != 0.0),
                         key=lambda r: (-abs(r[1]), ids[r[0]]))[:top_k]
        put([n] * len(got_out), [x for x, _ in got_out], [v for _, v in got_out])
    return sp.csr_matrix((np.concatenate(v_all).astype(np.float32), (np.concatenate(r_all), np.concatenate(c_all))),
                         shape=links.shape)


def evaluate(db: Any, settings: Any, *, run: str, held_ids: set[str], type_names: list[str], seed: int,
             knn_k: int = 50, batch: int = 500, trained_users: int = 3000, fold_scale: float = 1.0,
             variants: Sequence[str] = ()) -> dict[str, Any]:
    """Every method on the test users (and the valid users) whose item is held out, and on ``trained_users`` of
    those whose item is a trained one; see the module docstring."""
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.model.export import export_train_graph
    from kgrec_neo4j.model.foldin import ItemSide, split_foldin
    from kgrec_neo4j.model.itemtext import from_graph
    from kgrec_neo4j.model.newitems import fold_item_vectors
    from kgrec_neo4j.serve.scoring import read_train_users, run_model, scores

    t0 = time.perf_counter()
    m = run_model(db, run, refresh=True, cache=False, links=True)
    n = len(m.ids)
    held = np.zeros(n, bool)
    held_list = sorted(i for i in held_ids if i in m.index)
    held[[m.index[i] for i in held_list]] = True
    tg = export_train_graph(db, type_names=type_names)
    pop = np.zeros(n, np.float64)
    counts = np.bincount(tg.ui_item, minlength=len(tg.item_ids))
    for k, item in enumerate(tg.item_ids):
        if item in m.index:
            pop[m.index[item]] = counts[k]
    info: dict[str, Any] = {"items": n, "held_out_in_run": int(held.sum()),
                            "held_out_with_train_interactions": int(((pop > 0) & held).sum())}

    # ours without the knowledge of the held-out items (interactions only), and ours recomputed the same way as a
    # check that the stored vectors are the fold-in this code computes
    rows_nc = fold_item_vectors(db, held_list, run=run, knowledge=False)
    rows_kg = fold_item_vectors(db, held_list, run=run, knowledge=True)
    idx = np.asarray([m.index[i] for i in held_list], np.int64)
    info["stored_vs_recomputed_max_abs"] = float(np.abs(
        np.asarray([rows_kg[i]["embedding"] for i in held_list], np.float32) - m.vectors[idx]).max()) \
        if held_list else 0.0
    vec = m.vectors.copy()
    vec[idx] = np.asarray([rows_nc[i]["embedding"] for i in held_list], np.float32)
    layers_nc, x1_nc = split_foldin(m.foldin, np.asarray([rows_nc[i]["foldin"] for i in held_list], np.float32))
    layers, x1 = m.side.layers.copy(), m.side.x1.copy()
    layers[:, idx] = layers_nc
    if x1.shape[1]:
        x1[idx] = x1_nc
    # ... and without the item links the held-out items borrowed
    keep = np.ones(n, np.float32)
    keep[idx] = 0.0
    links_nc = None
    if m.links is not None:
        links_nc = (sp.diags(keep) @ m.links @ sp.diags(keep)).tocsr()  # (new items' links in and out)
        links_nc.eliminate_zeros()
        info["links_of_held_out"] = int(m.links.nnz - links_nc.nnz)  # into them and out of them
    m_nc = dataclasses.replace(m, vectors=vec, links=links_nc,
                               side=ItemSide(layers=layers, degree=m.side.degree, x1=x1, concepts=m.side.concepts))
    m_gnn = dataclasses.replace(m, link_weight=0.0, links=None)
    # the held-out items' borrowed links from their knowledge neighbours, and by the configured rule as a check
    # that the stored links are what this code computes
    m_kn = m
    m_var: dict[str, Any] = {}
    if m.links is not None:
        from kgrec_neo4j.core.resources import cypher
        from kgrec_neo4j.model.newitems import link_top_k, nearest_trained_items

        top_k = link_top_k(db.query(cypher("recommend/run"), run=run)[0])
        near = nearest_trained_items(db, held_list, run=run, min_confidence=m.min_confidence,
                                 neighbours=settings.borrow_neighbours, source=settings.borrow_from)
        now = borrowed_links(m.links, near, m.index, m.ids, held_list, top_k=top_k, calibrate=settings.borrow_scale)
        info["borrowed_stored_vs_recomputed_max_abs"] = float(abs(now - m.links).max()) if now.nnz else 0.0
        near_kn = nearest_trained_items(db, held_list, run=run, min_confidence=m.min_confidence,
                                    neighbours=settings.borrow_neighbours, source="knowledge")
        m_kn = dataclasses.replace(m, links=borrowed_links(m.links, near_kn, m.index, m.ids, held_list, top_k=top_k,
                                                           calibrate=settings.borrow_scale))
        # the rule before 2026-12-05: links into the new items only (none out of them, none between them)
        m_var["ours-into-only"] = dataclasses.replace(m, links=borrowed_links(
            m.links, near, m.index, m.ids, held_list, top_k=top_k, calibrate=settings.borrow_scale, rows=False))
        near_k: dict[int, dict[str, list[tuple[str, float]]]] = {settings.borrow_neighbours: near}
        for v in variants:
            k_v, cal, own = parse_variant(v, settings.borrow_neighbours)
            if k_v not in near_k:  # another number of neighbours than the setting, from the same source
                near_k[k_v] = nearest_trained_items(db, held_list, run=run, min_confidence=m.min_confidence,
                                                    neighbours=k_v, source=settings.borrow_from)
            m_var[f"ours-links-{v}"] = dataclasses.replace(
                m, links=borrowed_links(m.links, near_k[k_v], m.index, m.ids, held_list, top_k=top_k, calibrate=cal,
                                        own=own))
        info["held_out_with_text_neighbours"] = sum(
            1 for t in held_list if near.get(t) and near.get(t) != near_kn.get(t))
    info["held_out_zero_without_knowledge"] = int((np.abs(vec[idx]).sum(1) == 0).sum())
    info["held_out_zero_with_knowledge"] = int((np.abs(m.vectors[idx]).sum(1) == 0).sum())

    # item text embeddings, in the run's item order
    t_emb = time.perf_counter()
    emb = from_graph(db, m.ids, get_embedder(settings))
    knn = text_knn(emb, knn_k)
    info["text_seconds"] = round(time.perf_counter() - t_emb, 1)

    rng = np.random.default_rng(seed)
    tie = rng.permutation(n)
    unscaled = m.vectors.copy()
    unscaled[idx] = unscaled[idx] / fold_scale
    m_unscaled = dataclasses.replace(m, vectors=unscaled)
    info["fold_norm_scale"] = fold_scale
    methods: dict[str, Callable[[list[Any], np.ndarray], np.ndarray]] = {
        "ours": lambda st, x: scores(m, st),
        "ours-knowledge-neighbours": lambda st, x: scores(m_kn, st),
        "ours-unscaled": lambda st, x: scores(m_unscaled, st),
        "ours-no-concepts": lambda st, x: scores(m_nc, st),
        "ours-gnn-part": lambda st, x: scores(m_gnn, st),
        "popularity": lambda st, x: np.broadcast_to(pop, (len(st), n)),
        "itemknn-text": lambda st, x: (x @ knn.T).toarray(),
        "random": lambda st, x: rng.random((len(st), n)),
    }
    for name, mv in m_var.items():
        methods[name] = lambda st, x, mv=mv: scores(mv, st)
    out: dict[str, Any] = {"info": info}

    def ranked(labels: dict[str, int], users: list[str], scopes: Sequence[str]) -> dict[str, Any]:
        got: dict[str, dict[str, list[int]]] = {meth: {s: [] for s in scopes} for meth in methods}
        has_new: list[bool] = []  # the user's train history holds a held-out item (what links out of new items use)
        for s in range(0, len(users), batch):
            states = read_train_users(db, users[s: s + batch], m)
            targets = np.asarray([labels[st.id] for st in states], np.int64)
            train = np.zeros((len(states), n), bool)
            for b, st in enumerate(states):
                train[b, st.exclude] = True
                has_new.append(bool(held[st.exclude].any()))
            train[np.arange(len(states)), targets] = False  # a repeat of the target is never excluded
            x = sp.csr_matrix(train.astype(np.float32))
            for meth, fn in methods.items():
                sc = np.asarray(fn(states, x), np.float64)
                for scope in scopes:
                    cand = ~train & (held[None, :] if scope == "held-out" else True)
                    got[meth][scope] += ranks(sc, targets, cand, tie).tolist()
        res: dict[str, Any] = {"users": len(users), "users_new_in_history": int(sum(has_new))}
        mask = np.asarray(has_new, bool)
        for meth in methods:
            res[meth] = {}
            for scope in scopes:
                r, nd = recall_ndcg(np.asarray(got[meth][scope]))
                res[meth][scope] = {"recall@20": r, "ndcg@10": nd}
                if mask.any():  # the same, over the users with a new item in their train history only
                    r, nd = recall_ndcg(np.asarray(got[meth][scope])[mask])
                    res[meth][f"{scope}|new-in-history"] = {"recall@20": r, "ndcg@10": nd}
        return res

    for split in ("test", "valid"):
        labels = _labels(tg, split, m.index, held)
        out[split] = ranked(labels, sorted(labels), SCOPES)
        trained_labels = _labels(tg, split, m.index, held, trained=True)
        others = sorted(trained_labels)
        total = len(others)
        if len(others) > trained_users:
            others = sorted(np.random.default_rng(seed).choice(others, trained_users, replace=False).tolist())
        out[split]["trained"] = {**ranked(trained_labels, others, ("all",)), "users_total": total}
    info["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return out


# ================================================================================ the run
def run_seed(args: argparse.Namespace, settings: Any, pack: Any, seed: int) -> dict[str, Any]:
    from kgrec_neo4j.concepts import build_vocabulary, grow_vocabulary, project_mentions
    from kgrec_neo4j.core import schema
    from kgrec_neo4j.core.db import clear_database, connect
    from kgrec_neo4j.core.embed import get_embedder
    from kgrec_neo4j.extract.run import build_extractor, extract_items
    from kgrec_neo4j.load import load
    from kgrec_neo4j.model.pipeline import run_training
    from kgrec_neo4j.update import run_update
    from kgrec_neo4j.users.interactions import classify_interactions, make_classifier
    from kgrec_neo4j.users.interests.offline import extract_offline

    secs: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        out = fn()
        secs[name] = round(time.perf_counter() - t, 1)
        print(f"  [seed {seed}] {name}: {secs[name]:.1f}s", flush=True)
        return out

    with tempfile.TemporaryDirectory() as tmp:
        base, more, held, sizes = write_split(args.data, Path(tmp), share=args.share, seed=seed)
        print(f"seed {seed}: split {sizes}", flush=True)
        with connect(settings) as db:
            clear_database(db)
            schema.apply(db, pack, dim=settings.embedding_dim)
            timed("load base", lambda: load(db, [base]))
            emb = get_embedder(settings)
            timed("extract", lambda: extract_items(db, build_extractor(settings, "offline", pack=pack), pack=pack,
                                                   progress=False))
            timed("concepts build", lambda: build_vocabulary(db, emb, pack, fraction=0.5, seed=seed))
            timed("concepts project", lambda: project_mentions(db, emb, pack))
            timed("concepts grow", lambda: grow_vocabulary(db, emb, pack))
            timed("classify", lambda: classify_interactions(db, make_classifier("lexicon", settings)))
            timed("interests", lambda: extract_offline(db))
            over: dict[str, Any] = {}
            if args.max_train_seconds:
                over["max_seconds"] = args.max_train_seconds
            res = timed("train ours", lambda: run_training(db, type_names=pack.names, model="ours",
                                                           epochs=args.epochs, dim=args.dim, seed=seed,
                                                           overrides=over or None))
            timed("append change", lambda: load(db, [more], append=True))
            upd = timed("kgrec update", lambda: run_update(db, settings, extractor="offline"))
            ev = timed("evaluate", lambda: evaluate(db, settings, run=res.run, held_ids=held, type_names=pack.names,
                                                    seed=seed, knn_k=args.knn_k,
                                                    trained_users=args.trained_users,
                                                    fold_scale=upd.fold_norm_scale or 1.0,
                                                    variants=[v for v in args.link_variants.split(",") if v]))
    rep = res.report
    return {"seed": seed, "split": sizes, "seconds": secs, "run": res.run,
            "training": {**{k: rep.get(k) for k in ("epochs", "best_epoch", "train_seconds", "valid", "test",
                                                    "chosen", "config")}, "seconds": res.seconds},
            "update": upd.model_dump(mode="json"), **ev}


def table(results: Sequence[dict[str, Any]], split: str = "test") -> str:
    """Mean ± std over seeds per method and scope (markdown)."""

    def cell(values: list[float]) -> str:
        v = np.asarray(values, np.float64)
        return f"{v.mean():.4f} ± {v.std():.4f}" if v.size > 1 else f"{v.mean():.4f}"

    methods = [*METHODS, *sorted({k for r in results for k in r[split] if k.startswith("ours-links-")})]
    lines = ["| method | held-out: Recall@20 | held-out: NDCG@10 | all items: Recall@20 | all items: NDCG@10 |",
             "|---|---:|---:|---:|---:|"]
    for meth in methods:
        cells = [cell([r[split][meth][scope][metric] for r in results])
                 for scope in SCOPES for metric in ("recall@20", "ndcg@10")]
        lines.append(f"| {meth} | " + " | ".join(cells) + " |")
    users = [r[split]["users"] for r in results]
    lines.append(f"\n{split} users per seed: {users}")
    if all("trained" in r[split] for r in results):
        lines += ["", f"{split.upper()} users whose {split} item is a trained item (every item ranked: what surfacing "
                  "new items costs them)", "| method | Recall@20 | NDCG@10 |", "|---|---:|---:|"]
        for meth in methods:
            cells = [cell([r[split]["trained"][meth]["all"][metric] for r in results])
                     for metric in ("recall@20", "ndcg@10")]
            lines.append(f"| {meth} | " + " | ".join(cells) + " |")
        lines.append(f"\n{split} users per seed: {[r[split]['trained']['users'] for r in results]}")
        if all("users_total" in r[split]["trained"] for r in results):
            lines += ["", f"EVERY {split} user, every item ranked (the users whose item is held out, and those whose "
                      "item is trained weighted by their number from the sample above)", "| method | NDCG@10 |",
                      "|---|---:|"]
            for meth in methods:
                vals = []
                for r in results:
                    a, b = r[split]["users"], r[split]["trained"]["users_total"]
                    vals.append((a * r[split][meth]["all"]["ndcg@10"]
                                 + b * r[split]["trained"][meth]["all"]["ndcg@10"]) / max(a + b, 1))
                lines.append(f"| {meth} | {cell(vals)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/amazon-office-2018"))
    ap.add_argument("--pack", default="office_products")
    ap.add_argument("--share", type=float, default=0.05, help="share of the items held out")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated: the held-out draw and the training seed")
    ap.add_argument("--epochs", type=int, default=None, help="max epochs (default: the project's, 100)")
    ap.add_argument("--dim", type=int, default=None, help="embedding size (default: the project's, 64)")
    ap.add_argument("--max-train-seconds", type=float, default=None, help="stop training after this wall time")
    ap.add_argument("--knn-k", type=int, default=50, help="neighbours of itemknn-text")
    ap.add_argument("--trained-users", type=int, default=3000,
                    help="users whose test (valid) item is a trained item, ranked too (sampled with the seed)")
    ap.add_argument("--link-variants", default="",
                    help="comma-separated in-memory variants of the new items' borrowed links, each a method "
                         "ours-links-<v>: x<factor> (x2), norm, max (see borrowed_links), each optionally "
                         "followed by o<factor> for the neighbours' own links (x1.5o10), each optionally preceded "
                         "by n<k> for another number of neighbours than the setting (n5x1.5)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--yes", action="store_true", help="clear the database without asking")
    args = ap.parse_args()
    if not args.yes:
        raise SystemExit("this benchmark clears the database: pass --yes (and point NEO4J_URI at a scratch one)")

    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.schema import load_pack

    settings = load_settings({"type_pack": args.pack})
    pack = load_pack(args.pack)
    results = []
    for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
        results.append(run_seed(args, settings, pack, seed))
        if args.json:  # after every seed: a long run keeps what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"data": str(args.data), "pack": args.pack, "share": args.share,
                                             "results": results, "loadavg": os.getloadavg()}, indent=2,
                                            default=str))
    load_avg = os.getloadavg()
    print(f"\n{args.data.name}, {len(results)} seed(s), {args.share:.0%} of the items held out; "
          f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    print("TEST users whose test item is held out\n" + table(results, "test"))
    print("\nVALID users whose valid item is held out (diagnosis only)\n" + table(results, "valid"))


if __name__ == "__main__":
    main()
