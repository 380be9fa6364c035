"""A tiny clustered :class:`TrainGraph` for unit tests and smoke runs (not a benchmark).

Users and items fall into ``clusters``; a user likes items of their own cluster, dislikes a few of
another, and holds out two more own-cluster items (valid, test). Concepts are per-cluster tags, so
every signal (interactions, concepts, interests) points the same way and a trained model must beat
random ranking.
"""

from __future__ import annotations

import numpy as np

from .data import TrainGraph


def toy_graph(num_users: int = 60, num_items: int = 40, clusters: int = 4, per_user: int = 6,
              seed: int = 0) -> TrainGraph:
    if num_items < clusters * (per_user + 2):
        raise ValueError(f"num_items (got {num_items}) must be >= clusters * (per_user + 2) "
                         f"(got {clusters * (per_user + 2)})")
    rng = np.random.default_rng(seed)
    u_cl = np.arange(num_users) % clusters
    i_cl = np.arange(num_items) % clusters
    ui_u: list[int] = []
    ui_i: list[int] = []
    ui_s: list[int] = []
    valid: dict[int, list[int]] = {}
    test: dict[int, list[int]] = {}
    for u in range(num_users):
        own = rng.permutation(np.flatnonzero(i_cl == u_cl[u]))[: per_user + 2]
        other = rng.choice(np.flatnonzero(i_cl != u_cl[u]), 2, replace=False)
        for i in own[:per_user]:
            ui_u.append(u)
            ui_i.append(int(i))
            ui_s.append(1)
        for i in other:
            ui_u.append(u)
            ui_i.append(int(i))
            ui_s.append(-1)
        valid[u] = [int(own[per_user])]
        test[u] = [int(own[per_user + 1])]
    n_c = clusters * 2
    ic_i = np.repeat(np.arange(num_items), 2)
    ic_c = np.stack([i_cl * 2, i_cl * 2 + 1], 1).ravel()
    ic_t = np.tile([0, 1], num_items)
    uc_u = np.repeat(np.arange(num_users), 2)
    uc_c = np.stack([u_cl * 2, (u_cl + 1) % clusters * 2], 1).ravel()
    uc_p = np.tile([1, -1], num_users)
    return TrainGraph(
        user_ids=[f"u{k}" for k in range(num_users)], item_ids=[f"i{k}" for k in range(num_items)],
        concept_ids=[f"c{k}" for k in range(n_c)], type_names=["Genre", "Others"],
        ui_user=np.asarray(ui_u, np.int64), ui_item=np.asarray(ui_i, np.int64), ui_sign=np.asarray(ui_s, np.int64),
        ui_weight=np.ones(len(ui_u)),
        ic_item=ic_i, ic_concept=ic_c, ic_type=ic_t, ic_weight=np.ones(ic_i.size),
        uc_user=uc_u, uc_concept=uc_c, uc_horizon=np.zeros(uc_u.size), uc_polarity=uc_p,
        uc_weight=np.ones(uc_u.size), valid=valid, test=test, meta={"toy": True, "seed": seed},
    ).validate()
