"""The item graph with a knowledge prior instead of (or besides) stacked concept rows, L3AE-style (measured, not adopted;
docs/results.md section 4).

``W_f`` is the EASE solution of the concept matrix alone (``KᵀK + νI``, concept rows of unit length); the item graph is
``W = argmin ‖X − XW‖² + λ‖W‖² + μ‖W − W_f‖²`` with a zero diagonal, dense:
``P = (G + (λ + μ)I)⁻¹``, ``W̃ = P(G + μW_f) = I − (λ + μ)P + μPW_f``, ``W = W̃ − P·diag(W̃_jj / P_jj)``, where
``G = XᵀX`` plus the stacked concept rows when ``--concept-weight`` > 0. μ = 0 is the plain item graph.

    python bench/itemgraph_prior.py ../shared/data/amazon-videogames-2018 --nus 0.5,5 --mus 0,2,10
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.train_compare import _floats, emit  # noqa: E402
from kgrec_neo4j.model.data import TrainGraph, dataset_paths, from_jsonl  # noqa: E402
from kgrec_neo4j.model.evaluate import evaluate  # noqa: E402
from kgrec_neo4j.model.itemgraph import closed_form_weights, concept_matrix, signed_matrix, spd_inverse_  # noqa: E402
from kgrec_neo4j.model.train import TrainConfig, valid_sample  # noqa: E402


def knowledge_prior(g: TrainGraph, nu: float) -> np.ndarray:
    """``W_f``: the zero-diagonal ridge regression of each item's concept column on the other items' (dense)."""
    k = concept_matrix(g, 1.0)
    return closed_form_weights(torch.from_numpy((k.T @ k).toarray().astype(np.float32)), nu).numpy()


def with_prior(gram: np.ndarray, lam: float, mu: float, wf: np.ndarray | None) -> np.ndarray:
    """The zero-diagonal solution of ``‖Y − YW‖² + λ‖W‖² + μ‖W − W_f‖²`` for ``YᵀY = gram`` (see the docstring)."""
    n = gram.shape[0]
    g = torch.from_numpy(gram.copy())
    g.diagonal().add_(lam + mu)
    p = spd_inverse_(g).numpy()
    w = -(lam + mu) * p
    if mu and wf is not None:
        w += mu * (p @ wf)
    w[np.diag_indices(n)] += 1.0
    w -= p * (np.diag(w) / np.diag(p))[None, :]
    np.fill_diagonal(w, 0.0)
    return w


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--lam", type=float, default=100.0)
    ap.add_argument("--nus", type=_floats, default=[0.5])
    ap.add_argument("--mus", type=_floats, default=[0.0, 2.0, 10.0])
    ap.add_argument("--concept-weight", type=float, default=0.0, help="stacked concept rows as well (0: none)")
    ap.add_argument("--decay", type=float, default=0.8, help="the history's recency decay in the score")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    g = from_jsonl(*dataset_paths(args.data))
    x = signed_matrix(g, 1.0)
    gram = (x.T @ x).toarray().astype(np.float32)
    if args.concept_weight:
        kc = concept_matrix(g, args.concept_weight)
        gram += (kc.T @ kc).toarray().astype(np.float32)
    xr = signed_matrix(g, 1.0, args.decay)
    users = valid_sample(g, TrainConfig().valid_sample, np.random.default_rng(0))  # ours' valid sample, seed 0
    rows = []
    for nu in args.nus:
        wf = knowledge_prior(g, nu) if any(args.mus) else None
        for mu in args.mus:
            w = with_prior(gram, args.lam, mu, wf)

            def score(u: torch.Tensor, w: np.ndarray = w) -> torch.Tensor:
                return torch.from_numpy(np.asarray(xr[u.numpy()] @ w, dtype=np.float32))

            row = {"lam": args.lam, "nu": nu, "mu": mu, "concept_weight": args.concept_weight,
                   "valid_ndcg10": evaluate(score, g, "valid", users=users)["ndcg@10"],
                   "test_ndcg10": evaluate(score, g, "test")["ndcg@10"]}
            emit(rows, row, args.json)
    return rows


if __name__ == "__main__":
    main()
