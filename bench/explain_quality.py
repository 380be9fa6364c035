"""Benchmark: do the explanations tell the truth about the SERVED score?

It reads the graph that ``NEO4J_URI`` points to and its current ``(:ModelRun)`` (a pipeline's graph: ``kgrec demo``,
or the full data set after ``kgrec train``) and writes nothing. For ``--pairs`` (user, recommended item) pairs
(one pair per sampled user, at a seeded random rank of the user's top ``--k``), served and explained exactly as
``kgrec recommend --explain`` does (GNN fold-in and item graph together):

* **shares**: the reasons' shares add up to the served score (largest gap reported);
* **validity**: every stored path shown is re-MATCHed by ``cypher/explain/verify_paths.cypher``;
* **fidelity**: the top explaining edge, the user's edge to the neighbour of the strongest positive reason that has
  one (an interacted item: all its INTERACTED edges; an interest: its INTERESTED_IN edges), is deleted in memory:
  the user is folded in again without it and the item-graph part is summed without it; faithful when the served
  score drops;
* **sign agreement**: every reason the sentence states is removed the same way (the learned profile: the user's
  own embedding set to zero); it agrees when the score moves against the reason's sign (a reason for the item:
  the score drops without it);
* **baselines, same pairs and run**: the score change when a RANDOM neighbour of the user is removed (how often a
  drop happens by chance), and the sign an interaction's kind would give (like / interest for, dislike /
  negative interest against: how sentences worded reasons before they followed shares) checked the same way;
* **mix**: what carries the scores (item graph, model, profile), explanation types, stated reasons per item, how
  many stated reasons have no stored path;
* **family paths** (``family_concept``, ``interest_family``: concepts of one family joined by BROADER edges, shown
  when no concept is shared): how many explanations carry one, how many stated reasons are worded by one, and the
  sign agreement of those reasons.

    python bench/explain_quality.py [--pairs 500] [--k 10] [--seed 0] [--max-seconds S] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402
from kgrec_neo4j.model.foldin import fold_in  # noqa: E402
from kgrec_neo4j.serve import explain as E  # noqa: E402
from kgrec_neo4j.serve import scoring as S  # noqa: E402

# ----------------------------------------------------------------------------------------- removal

def pair_score(m: S.RunModel, st: S.UserState, i: int) -> float:
    """The served score of item ``i`` for state ``st``: fold-in dot product plus the item-graph part (run links)."""
    s = float(fold_in(m.foldin, m.side, st.history) @ m.vectors[i])
    if m.link_weight and m.links is not None and st.link_x[0].size:
        col = m.links[st.link_x[0]][:, [i]].toarray().ravel()
        s += m.link_weight * float(st.link_x[1] @ col)
    return s


def neighbour(m: S.RunModel, r: E.Reason) -> tuple[str, int | None]:
    if r.kind == "profile":
        return "profile", None
    if r.kind == "item":
        return "item", m.index[str(r.id)]
    return "interest", m.concept_index[str(r.id)]


def interaction_sign(r: E.Reason) -> int | None:
    """The sign a reason got from its kind alone (before sentences followed shares); None for the profile."""
    if r.kind == "interest":
        return -1 if (r.polarity or 1) < 0 else 1
    if r.kind == "item":
        kinds = (r.interaction or "").split("+")
        return -1 if kinds == ["dislike"] else 1
    return None


def worded_by_family(r: E.Reason) -> bool:
    """The reason's clause says one of its family paths ("... are of the *Xbox* family", "it has *Xbox One*, of
    that family")."""
    text = E.clause(r)
    return any((E.family_phrase(p) if p.kind == "family_concept" else E.interest_family_phrase(p)) in text
               for p in r.paths if p.kind in E.FAMILY_KINDS)


def share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _by_kind(c: Counter) -> dict[str, dict[str, int]]:
    return {k: {"agree": c[(k, True)], "of": c[(k, True)] + c[(k, False)]} for k in ("item", "interest", "profile")}


# -------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=500, help="(user, recommended item) pairs, one per sampled user")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop explaining new pairs after this long (the pairs done are measured and counted)")
    args = ap.parse_args(argv)

    db = connect(load_settings())
    run = S.current_run(db)
    t0 = time.perf_counter()
    m = S.run_model(db, run, links=True)
    load_s = time.perf_counter() - t0
    users = db.value("MATCH (u:User) WHERE EXISTS { (u)-[:INTERACTED]->() } RETURN collect(u.id)") or []
    rng = np.random.default_rng(args.seed)
    users = sorted(users)
    sample = [users[n] for n in rng.choice(len(users), size=min(args.pairs, len(users)), replace=False)]

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    pairs: list[tuple[S.UserState, E.Explanation]] = []
    for u in sample:  # what recommend_users(explain=True) does, keeping the user's state for the removals
        if args.max_seconds is not None and time.perf_counter() - t0 > args.max_seconds:
            break
        m, [st] = S.scoring_state(db, [u], run)
        idx, _ = S.top_k(S.scores(m, [st])[0], args.k, st.exclude)
        if not idx.size:
            continue
        items = [m.ids[j] for j in idx.tolist()]
        pick = items[int(rng.integers(len(items)))]
        pairs.append((st, E.explain_items(db, u, items, model=m, state=st)[pick]))
    explain_s = time.perf_counter() - t0
    load_after = os.getloadavg()

    gaps, shown, mix, n_stated, stated_no_path = [], [], Counter(), [], 0
    carried = {"item_graph": [], "model_items": [], "model_interests": [], "profile": []}
    fid_n, fid_drop, fid_deltas, fid_top = 0, 0, [], Counter()
    rnd_n, rnd_drop = 0, 0
    lead_n, lead_drop = 0, 0
    agree: Counter = Counter()
    agree_big: Counter = Counter()
    agree_all: Counter = Counter()
    base: Counter = Counter()
    fam_exps, fam_worded, fam_agree = 0, 0, 0
    for st, e in pairs:
        assert e.score is not None
        i = m.index[e.item]
        served = pair_score(m, st, i)
        gaps.append(abs(sum(x.share for x in e.reasons) + e.other + e.own - e.score))
        gaps.append(abs(served - e.score))
        shown.extend(e.paths)
        mix[e.kind] += 1
        stated = e.stated
        n_stated.append(len(stated))
        stated_no_path += sum(1 for x in stated if not x.paths)
        fam_exps += any(p.kind in E.FAMILY_KINDS for p in e.paths)
        by_family = {id(x) for x in stated if worded_by_family(x)}
        tot = e.abs_total or 1.0
        carried["item_graph"].append(sum(abs(x.item_graph) for x in e.reasons) / tot)
        carried["model_items"].append(sum(abs(x.gnn) for x in e.reasons if x.kind == "item") / tot)
        carried["model_interests"].append(sum(abs(x.share) for x in e.reasons if x.kind == "interest") / tot)
        carried["profile"].append(sum(abs(x.share) for x in e.reasons if x.kind == "profile") / tot)
        # fidelity: the strongest positive reason that has an edge (by share alone), and the first stated one
        top = next((x for x in e.reasons if x.share > 0 and x.kind != "profile"), None)
        if top is not None:
            kind, idx = neighbour(m, top)
            after = pair_score(m, S.without_neighbour(st, kind, idx), i)
            fid_n += 1
            fid_drop += after < served
            fid_deltas.append(after - served)
            fid_top[top.kind] += 1
        lead = next((x for x in stated if x.share > 0 and x.kind != "profile"), None)
        if lead is not None:
            kind, idx = neighbour(m, lead)
            lead_n += 1
            lead_drop += pair_score(m, S.without_neighbour(st, kind, idx), i) < served
        # baseline: a random neighbour of the user
        nbrs = [("item", int(j)) for j in np.union1d(st.history.positive, st.history.negative)] + \
               [("interest", int(c)) for c in np.unique(st.history.concepts)]
        if nbrs:
            kind, idx = nbrs[int(rng.integers(len(nbrs)))]
            rnd_n += 1
            rnd_drop += pair_score(m, S.without_neighbour(st, kind, idx), i) < served
        # sign agreement: the stated reasons, the reasons big enough to be stated (share alone), every listed one
        stated_ids = {id(x) for x in stated}
        floor = E.MIN_STATED * e.abs_total
        for x in e.reasons:
            kind, idx = neighbour(m, x)
            effect = served - pair_score(m, S.without_neighbour(st, kind, idx), i)  # what the reason added
            ok = effect * x.share > 0
            agree_all[(x.kind, ok)] += 1
            if abs(x.share) >= floor:
                agree_big[(x.kind, ok)] += 1
                s0 = interaction_sign(x)
                if s0 is not None:
                    base[s0 * effect > 0] += 1
            if id(x) in stated_ids:
                agree[(x.kind, ok)] += 1
            if id(x) in by_family:
                fam_worded += 1
                fam_agree += ok
    valid = E.verify_paths(db, shown)
    n_agree = sum(v for (_, ok), v in agree.items() if ok)
    n_all = sum(agree.values())
    out: dict[str, Any] = {
        "run": run, "items": len(m.ids), "concepts": len(m.concept_ids), "link_weight": m.link_weight,
        "dislike_value": m.dislike_value, "users_in_graph": len(users),
        "pairs_asked": len(sample), "pairs": len(pairs), "k": args.k,
        "model_load_s": round(load_s, 1),
        "score_and_explain_s": round(explain_s, 1),
        "loadavg_1m_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
        "shares_add_up_max_gap": float(max(gaps)) if gaps else None,
        "validity": {"paths": len(shown), "valid": int(sum(valid)), "share": share(int(sum(valid)), len(shown))},
        "fidelity": {"pairs": fid_n, "score_dropped": int(fid_drop), "share": share(int(fid_drop), fid_n),
                     "median_delta": float(np.median(fid_deltas)) if fid_deltas else None,
                     "top_reason_kind": dict(fid_top),
                     "what": "the strongest positive reason by share that has an edge, deleted in memory"},
        "fidelity_first_stated_reason": {"pairs": lead_n, "score_dropped": lead_drop,
                                         "share": share(lead_drop, lead_n)},
        "baseline_random_neighbour": {"pairs": rnd_n, "score_dropped": rnd_drop, "share": share(rnd_drop, rnd_n)},
        "sign_agreement": {
            "stated_reasons": n_all, "agree": n_agree, "share": share(n_agree, n_all),
            "by_kind": _by_kind(agree),
            "share_alone_reasons_above_floor": {
                "reasons": sum(agree_big.values()), "agree": sum(v for (_, ok), v in agree_big.items() if ok),
                "by_kind": _by_kind(agree_big)},
            "share_alone_every_listed_reason": _by_kind(agree_all),
        },
        "baseline_sign_by_interaction_kind_above_floor": {
            "reasons": base[True] + base[False], "agree": base[True],
            "share": share(base[True], base[True] + base[False])},
        "carried_mean": {k: round(float(np.mean(v)), 4) if v else None for k, v in carried.items()},
        "explanation_type": dict(mix),
        "stated_reasons_per_item": round(float(np.mean(n_stated)), 2) if n_stated else None,
        "stated_reasons_without_stored_path": stated_no_path,
        "path_kinds": dict(Counter(p.kind for p in shown)),
        "family": {"explanations_with_a_family_path": fam_exps,
                   "stated_reasons_worded_by_a_family_path": fam_worded,
                   "of_them_sign_agrees": fam_agree},
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    db.close()
    return out


if __name__ == "__main__":
    main()
