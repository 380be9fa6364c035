"""Training loop for our GNN and the trainable baselines, and fitting of the closed-form ones.

Seeded and deterministic where the platform allows; early stopping on valid NDCG@10 (test is only
evaluated once, for the best valid checkpoint).
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from .baselines import EASE, MFBPR, ItemKNN, LightGCNRec, MostPopular
from .data import TrainGraph
from .evaluate import evaluate, evaluate_mixtures
from .gnn import KGRecGNN
from .itemgraph import DEFAULT_LAMBDAS, ItemGraph
from .losses import bpr_loss, concept_centre_loss, l2_reg, signed_edge_loss
from .recency import DEFAULT_DECAYS

log = logging.getLogger(__name__)

TRAINABLE = ("kgrec", "mf", "lightgcn")
CLOSED_FORM = ("pop", "itemknn", "ease", "ease-recency")


class TrainConfig(BaseModel):
    """Hyperparameters of one training run (choose them on valid, never on test)."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["kgrec", "mf", "lightgcn"] = "kgrec"
    embedding_dim: int = Field(64, ge=1)
    num_layers: int = Field(2, ge=0, description="LightGCN layers, or our stage-1 user-item layers")
    num_fused_layers: int = Field(1, ge=1)
    lr: float = Field(5e-3, gt=0, description="Adam learning rate (at 4,096 pairs per step: auto_batch_size scales it)")
    weight_decay: float = Field(1e-4, ge=0, description="L2 on the batch's ego embeddings")
    batch_size: int | None = Field(None, ge=1, description="BPR pairs per step (None: auto_batch_size)")
    epochs: int = Field(100, ge=1)
    patience: int = Field(10, ge=1, description="evaluations without valid NDCG@10 gain before stopping")
    eval_every: int = Field(1, ge=1)
    max_seconds: float | None = Field(None, gt=0, description="stop training after this wall time")
    valid_sample: int | None = Field(10000, ge=1, description="users for per-epoch valid (None = all)")
    seed: int = 0
    device: str = Field("auto", description="'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N'")
    num_threads: int | None = Field(None, ge=1, description="torch CPU threads (None: every core)")
    # ours
    signed_weight: float = Field(0.1, ge=0)
    centre_weight: float = Field(0.01, ge=0)
    centre_edges: int = Field(8192, ge=1, description="concept edges sampled per step for the centre loss")
    max_neighbors: int | None = Field(8, ge=1, description="stage-2 neighbour sampling cap (training only)")
    use_concepts: bool = True
    use_negative: bool = True
    use_stage1: bool = True
    bpr_on_dislikes: bool = Field(False, description="also use dislikes as BPR positives (ours)")
    # ours, stage 1 in closed form: the signed item graph with knowledge paths (model/itemgraph.py)
    use_item_graph: bool = True
    item_graph_lambdas: list[float] = Field(list(DEFAULT_LAMBDAS), min_length=1,
                                            description="L2 grid (chosen on valid)")
    item_graph_concept_weights: list[float] = Field(
        [0.0, 2.0], min_length=1, description="item-concept-item path weight grid (chosen on valid)")
    item_graph_dislike_value: float = Field(1.0, description="a dislike's value in the item graph's X")
    item_graph_top_k: int | None = Field(100, ge=1, description="item links kept per item (None: dense)")
    item_graph_solver: Literal["auto", "dense", "sparse"] = Field(
        "auto", description="dense inverse, sparse per-item solves, or auto (sparse above item_graph_dense_max_items)")
    item_graph_dense_max_items: int = Field(20000, ge=1, description="largest catalogue solved densely by 'auto'")
    item_graph_neighbours: int = Field(256, ge=1, description="candidate items per item of the sparse solver")
    # on by default since the served model was measured with it (docs/results.md section 4, "Transitions in the
    # served model"): better under serving's protocol (history up to the target) on Video Games and Office
    item_graph_transitions: list[float] = Field(
        [1.0], description="weights of the transition pairs (what a user takes up next) tried on the best point of "
        "the lambda x concept weight grid, kept when valid improves ([]: none)")
    item_graph_transition_window: int = Field(10, ge=1, description="interactions in a transition pair's source")
    item_graph_transition_decay: float = Field(0.5, gt=0, le=1,
                                               description="factor per step back in a transition pair's source")
    # the item text as a prior of the item graph (model/itemgraph.py, "Text prior"): read only when the graph carries
    # item text embeddings (TrainGraph.item_text)
    item_graph_text_priors: list[float] = Field(
        [], description="weights mu of the item-text prior tried on the best point after the transitions, kept when "
        "valid improves ([]: none)")
    item_graph_text_prior_nu: float = Field(0.1, gt=0, description="ridge of the text prior's own regression")
    # short-term interests (model/recency.py): a user's history weighted by position, in both parts of the score
    use_recency: bool = Field(True, description="weigh each user's history by recency (ablation: False)")
    recency_decays: list[float] = Field(
        list(DEFAULT_DECAYS), min_length=1,
        description="decay grid of the item graph's user history (chosen on valid; 1.0 = unordered)")
    recency_decay: float = Field(
        0.9, gt=0, le=1, description="the GNN user side's decay (a GNN hyperparameter, tuned on valid in bench/)")
    item_graph_weights: list[float] = Field(
        [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0], min_length=1,
        description="grid of the item graph's weight in the score, in units of std(GNN) / std(item graph)")


class TrainReport(BaseModel):
    """What one run measured."""

    model: str
    config: dict[str, Any]
    valid: dict[str, float]
    test: dict[str, float]
    epochs: int
    best_epoch: int
    train_seconds: float
    epoch_seconds: float
    epoch_cpu_seconds: float = 0.0  # process CPU time per epoch (all threads): robust on a shared machine
    train_cpu_seconds: float = 0.0
    eval_seconds: float
    peak_rss_mb: float
    history: list[dict[str, float]] = []
    parts: dict[str, dict[str, Any]] = {}  # ours: each part's own valid / test metrics (reported, not selected on)
    item_graph_seconds: float = 0.0  # ours: fitting the closed-form item graph (in train_seconds, not per epoch)
    recency: dict[str, float | None] = {}  # recency decay of each part's user history (None: unordered / no part)
    device: str = "cpu"  # where the model trained


BASE_BATCH = 4096
MAX_STEPS = 32
MAX_AUTO_BATCH = 16384  # the largest batch measured against the base one (docs/results.md section 4)


def auto_batch_size(cfg: TrainConfig, pairs: int) -> tuple[int, float]:
    """``(batch size, learning rate)`` of a run whose ``batch_size`` is unset: 4,096 pairs per step; for ours with
    stage 1 and its item graph (the served model), doubled until an epoch takes at most 32 steps or the batch is
    16,384, with the learning rate times sqrt(batch / 4,096).

    Each of ours' steps propagates over the whole graph (stage 1), so a step costs about the same whatever its batch.
    On full Video Games (345k pairs, one seed, docs/results.md section 4) 16,384 pairs per step (22 steps) served the
    same test NDCG@10 as 4,096 (85 steps): 0.0538 against 0.0537, after 38 epochs instead of 68, each about half as
    long. Its GNN part alone is weaker (0.0295 against 0.0338), so the GNN-only ablations keep 4,096, as do smaller
    graphs and the baselines.
    """
    if cfg.batch_size is not None:
        return cfg.batch_size, cfg.lr
    batch = BASE_BATCH
    if cfg.model == "kgrec" and cfg.use_stage1 and cfg.use_item_graph:
        while -(-pairs // batch) > MAX_STEPS and batch < MAX_AUTO_BATCH:
            batch *= 2
    return batch, cfg.lr * (batch / BASE_BATCH) ** 0.5


def bpr_pairs(graph: TrainGraph, cfg: TrainConfig) -> np.ndarray:
    """The BPR positives :func:`fit` trains on, ``(P, 2)`` deduplicated (user, item) pairs; ours leaves explicit
    dislikes to the signed loss. ``auto_batch_size(cfg, len(pairs))`` gives the batch of the run."""
    keep: np.ndarray = np.ones(graph.ui_user.size, bool)
    if cfg.model == "kgrec" and cfg.use_negative and not cfg.bpr_on_dislikes:
        keep = graph.ui_sign >= 0
    return np.unique(np.stack([graph.ui_user[keep], graph.ui_item[keep]], 1), axis=0)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _threads() -> int:
    try:
        return max(1, min(os.cpu_count() or 1, len(os.sched_getaffinity(0))))
    except AttributeError:
        return os.cpu_count() or 1


def setup(seed: int, device: str = "auto", num_threads: int | None = None) -> torch.device:
    """Seed everything, use every CPU core (or ``num_threads``), pick CUDA when available (``device="auto"``).

    On a shared machine set ``OMP_WAIT_POLICY=PASSIVE`` before torch is imported (``bench/`` does).
    """
    torch.set_num_threads(num_threads or _threads())
    torch.manual_seed(seed)
    np.random.seed(seed)
    return resolve_device(device)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"``: the first CUDA device when one is available, else the CPU; anything else as given."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def gnn_recency_decay(cfg: TrainConfig) -> float | None:
    """The GNN user side's recency decay (``None`` without recency)."""
    return cfg.recency_decay if cfg.use_recency else None


def build_model(graph: TrainGraph, cfg: TrainConfig, recency_decay: float | None = None) -> torch.nn.Module:
    if cfg.model == "kgrec":
        return KGRecGNN(graph, cfg.embedding_dim, cfg.num_layers, cfg.num_fused_layers,
                        use_concepts=cfg.use_concepts, use_negative=cfg.use_negative, use_stage1=cfg.use_stage1,
                        recency_decay=recency_decay)
    if cfg.model == "mf":
        return MFBPR(graph.num_users, graph.num_items, cfg.embedding_dim)
    return LightGCNRec(graph, cfg.embedding_dim, max(cfg.num_layers, 1))


def _ego(model, users, items):
    if isinstance(model, KGRecGNN):
        return model.user_emb(users), model.item_emb(items)
    return model.ego(users, items)


def _embeddings(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """User and item embeddings ``(|U|, F), (|I|, F)`` of a model, in eval mode (one full forward pass)."""
    model.eval()
    with torch.no_grad():
        return tuple(model()[:2])


def _embedding_scorer(model: torch.nn.Module, *, fused: bool = True,
                      emb: tuple[torch.Tensor, torch.Tensor] | None = None):
    """Score function of a trained model; ours adds its attached item graph unless ``fused=False``.
    ``emb``: the model's :func:`_embeddings` when already computed (else one forward pass here)."""
    u, i = emb if emb is not None else _embeddings(model)
    if fused and isinstance(model, KGRecGNN):
        return lambda users: model.score(users, (u, i))
    return lambda users: u[users] @ i.t()


def fit_item_graph(graph: TrainGraph, cfg: TrainConfig, valid_users: np.ndarray | None = None
                   ) -> tuple[ItemGraph, list[dict[str, float]], tuple[float, float]]:
    """Stage 1 in closed form: fit the item graph for every (lambda, concept weight) of ``cfg``'s grids, score it
    with every recency decay of ``cfg.recency_decays`` (the decay changes the score, not the fit) and keep the
    combination with the best valid NDCG@10 (on ``valid_users`` when given); then refit that best point with each
    transition weight of ``cfg.item_graph_transitions`` (what users take up next, :mod:`.itemgraph`) and keep it when
    valid improves. Without held-out users (serving mode, or the refit of "history up to the target") the first
    point of each grid is fitted, with the first transition weight, and nothing is evaluated: pass the chosen point
    as one-element grids.

    Returns:
        the chosen item graph, the grid's history, and the (wall, CPU) seconds of fits reused from an enclosing
        :func:`~kgrec_neo4j.model.itemgraph.shared_fits` (0 outside one), which the caller counts as fitting time.
    """
    best: tuple[ItemGraph, float] | None = None
    history: list[dict[str, float]] = []
    # the ablations hold for this part too: no concept paths, dislikes dropped, no recency (and so no transitions)
    weights = cfg.item_graph_concept_weights if cfg.use_concepts and graph.num_concepts else [0.0]
    dislike_value = cfg.item_graph_dislike_value if cfg.use_negative else 0.0
    decays = cfg.recency_decays if cfg.use_recency else [1.0]
    transitions = [b for b in cfg.item_graph_transitions if b > 0] if cfg.use_recency else []
    reused = [0.0, 0.0]
    device = resolve_device(cfg.device)  # where the dense solves invert

    mus = [m for m in cfg.item_graph_text_priors if m > 0]
    if mus and graph.item_text is None:
        log.warning("item_graph_text_priors %s: the train graph carries no item text (TrainGraph.item_text): the item "
                    "graph is fitted without the text prior", mus)
        mus = []

    def fit_one(lam: float, cw: float, beta: float, mu: float = 0.0) -> tuple[ItemGraph, float]:
        t0 = time.perf_counter()
        fitted = ItemGraph(lam, cw, dislike_value, cfg.item_graph_top_k, solver=cfg.item_graph_solver,
                           dense_max_items=cfg.item_graph_dense_max_items, neighbours=cfg.item_graph_neighbours,
                           transitions=beta, transition_window=cfg.item_graph_transition_window,
                           transition_decay=cfg.item_graph_transition_decay, text_prior=mu,
                           text_prior_nu=cfg.item_graph_text_prior_nu).fit(graph, device)
        fit_s = time.perf_counter() - t0
        if fitted.reused:  # shared within bench's shared_fits(): count the seconds the fit took
            fit_s = fitted.fit_seconds
            reused[0] += fitted.fit_seconds
            reused[1] += fitted.fit_cpu_seconds
        return fitted, fit_s

    if not graph.valid:
        # serving mode / refit: the first point of each grid (the chosen one when the caller passes it)
        beta = (cfg.item_graph_transitions[:1] or [0.0])[0] if cfg.use_recency else 0.0
        fitted, fit_s = fit_one(cfg.item_graph_lambdas[0], weights[0], beta, (mus[:1] or [0.0])[0])
        ig = fitted.with_decay(decays[0]) if decays[0] != fitted.decay else fitted
        return ig, [{"item_graph_lambda": ig.lam, "item_graph_concept_weight": ig.concept_weight,
                     "item_graph_transitions": ig.transitions, "item_graph_text_prior": ig.text_prior,
                     "recency_decay": decays[0], "fit_seconds": fit_s,
                     "fit_reused": float(fitted.reused)}], (reused[0], reused[1])

    def try_decays(fitted: ItemGraph, fit_s: float) -> None:
        nonlocal best
        for decay in dict.fromkeys(decays):
            t1 = time.perf_counter()
            ig = fitted.with_decay(decay) if decay != fitted.decay else fitted
            v = evaluate(ig.score, graph, "valid", users=valid_users)
            history.append({"item_graph_lambda": fitted.lam, "item_graph_concept_weight": fitted.concept_weight,
                            "item_graph_transitions": fitted.transitions,
                            "item_graph_text_prior": fitted.text_prior, "recency_decay": decay,
                            "fit_seconds": fit_s, "fit_reused": float(fitted.reused),
                            "seconds": time.perf_counter() - t1, **{k: x for k, x in v.items() if k != "users"}})
            log.info("item graph lam=%s concept_weight=%s transitions=%s decay=%s: valid %s", fitted.lam,
                     fitted.concept_weight, fitted.transitions, decay, v)
            if best is None or v["ndcg@10"] > best[1]:
                best = (ig, v["ndcg@10"])

    for lam in cfg.item_graph_lambdas:
        for cw in dict.fromkeys(weights):
            try_decays(*fit_one(lam, cw, 0.0))
    if best is None:
        raise ValueError("the item graph grid is empty: item_graph_lambdas, item_graph_concept_weights and "
                         "recency_decays need at least one value each")
    # transitions on the best point of the grid only (one fit per value, not one per grid point)
    base = best[0]
    for beta in dict.fromkeys(transitions):
        try_decays(*fit_one(base.lam, base.concept_weight, beta))
    # the text prior with the transitions chosen so far, over the lambda and concept weight grids again: the prior
    # adds mu to the ridge (lambda + mu in all), and the text and the concept paths carry some of the same knowledge
    # (with the text in, valid may want less of the concepts)
    base = best[0]
    for mu in dict.fromkeys(mus):
        for lam in cfg.item_graph_lambdas:
            for cw in dict.fromkeys(weights):
                try_decays(*fit_one(lam, cw, base.transitions, mu))
    return best[0], history, (reused[0], reused[1])


def _score_scale(model: KGRecGNN, ig: ItemGraph, graph: TrainGraph, rng: np.random.Generator,
                 emb: tuple[torch.Tensor, torch.Tensor]) -> float:
    """``std(GNN scores) / std(item graph scores)`` over up to 512 valid users, or users with train edges when
    nothing is held out (the unit of the weight grid)."""
    users = np.array(sorted(graph.valid) if graph.valid else np.unique(graph.ui_user), np.int64)
    if users.size > 512:
        users = np.sort(rng.choice(users, 512, replace=False))
    u = torch.from_numpy(users)
    gnn = _embedding_scorer(model, fused=False, emb=emb)(u).float()
    lin = ig.score(u).float()
    return float(gnn.std() / lin.std().clamp_min(1e-12))


def attach_item_graph(model: KGRecGNN, ig: ItemGraph, graph: TrainGraph, cfg: TrainConfig, rng: np.random.Generator,
                      valid_users: np.ndarray | None = None,
                      emb: tuple[torch.Tensor, torch.Tensor] | None = None) -> list[dict[str, float]]:
    """Choose the item graph's weight in the score on valid NDCG@10 and attach it to ``model`` (without held-out
    users: the first multiplier of the grid)."""
    emb = emb if emb is not None else _embeddings(model)
    scale = _score_scale(model, ig, graph, rng, emb)
    if not graph.valid:
        m = cfg.item_graph_weights[0]
        model.attach_item_graph(ig, m * scale)
        model.item_graph_multiplier = m
        return [{"item_graph_weight": m * scale, "item_graph_multiplier": m}]
    best: tuple[float, float] | None = None
    history: list[dict[str, float]] = []
    # the whole grid in one pass: the GNN and the item graph score each batch of users once
    gnn = _embedding_scorer(model, fused=False, emb=emb)
    grid = evaluate_mixtures([gnn, ig.score], [[1.0, m * scale] for m in cfg.item_graph_weights], graph, "valid",
                             users=valid_users) if cfg.item_graph_weights else []
    for m, v in zip(cfg.item_graph_weights, grid):
        history.append({"item_graph_weight": m * scale, "item_graph_multiplier": m,
                        **{k: x for k, x in v.items() if k != "users"}})
        if best is None or v["ndcg@10"] > best[1]:
            best = (m * scale, v["ndcg@10"])
            model.item_graph_multiplier = m
    if best is None:
        raise ValueError("the item graph needs at least one weight to try (item_graph_weights is empty)")
    model.attach_item_graph(ig, best[0])
    log.info("item graph weight %.4g (scale %.4g): valid NDCG@10 %.4f", best[0], scale, best[1])
    return history


def valid_sample(graph: TrainGraph, size: int | None, rng: np.random.Generator) -> np.ndarray | None:
    """The valid users that per-epoch evaluation and every valid choice of :func:`fit` use: ``size`` of them drawn
    with ``rng`` (sorted), or ``None`` (every valid user) when there are no more than ``size``. :func:`fit` draws it
    first from the run's generator, so ``np.random.default_rng(seed)`` gives a run's sample."""
    if size is None or len(graph.valid) <= size:
        return None
    return np.sort(rng.choice(np.array(sorted(graph.valid)), size, replace=False))


def epoch_line(model: str, row: dict[str, float], valid_users: int, *, part: bool = True) -> str:
    """The progress line of one epoch: its loss and time, then the valid metrics it was scored on, named as such (for
    ours, ``kgrec``: the GNN part alone, as ``kgrec runs show`` says; the item graph is fitted after training). Until
    2026-12-04 the metrics were unlabelled and read as the run's valid NDCG@10, which the item graph then raised."""
    head = f"  {model} epoch {int(row['epoch'])}: loss={row['loss']:.4g}, seconds={row['seconds']:.4g}"
    metrics = {k: v for k, v in row.items() if k not in ("epoch", "loss", "seconds")}
    if not metrics:
        return head
    alone = ", the GNN part alone" if model == "kgrec" and part else ""  # (part: an item graph or offset joins it)
    return (f"{head}; valid ({valid_users} users{alone}): "
            + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


def fit(graph: TrainGraph, cfg: TrainConfig | None = None, *, progress: bool = False,
        init: Callable[[torch.nn.Module], Any] | None = None,
        offset: torch.Tensor | None = None) -> tuple[torch.nn.Module, TrainReport]:
    """Train ``cfg.model`` on ``graph``'s train edges; early-stop on valid NDCG@10; evaluate test once.

    Args:
        init: sets the model's parameters before training (a warm start, :mod:`kgrec_neo4j.model.warm`); the
            model is then evaluated on valid once before the first epoch (``epoch 0`` in the history), and that
            state counts as a candidate for the best one.
        offset: a fixed ``(|U|, |I|)`` score added to the model's own in its BPR pairs, its valid ranking and its
            report: the model learns what that score misses (a residual of another model; ``bench/residual_gnn.py``).
            ``kgrec train`` does not use it.

    Returns:
        the model with its best-valid parameters, and the :class:`TrainReport`.
    """
    cfg = cfg or TrainConfig()
    device = setup(cfg.seed, cfg.device, cfg.num_threads)
    rng = np.random.default_rng(cfg.seed)
    ours = cfg.model == "kgrec"
    valid_users = valid_sample(graph, cfg.valid_sample, rng)
    history: list[dict[str, float]] = []
    ig = None
    ig_time = ig_cpu = 0.0
    if ours and cfg.use_item_graph and cfg.use_stage1:
        t0, c0 = time.perf_counter(), time.process_time()
        ig, ig_history, (reused_s, reused_cpu) = fit_item_graph(graph, cfg, valid_users)
        history.extend(ig_history)
        ig_time, ig_cpu = time.perf_counter() - t0 + reused_s, time.process_time() - c0 + reused_cpu
        if progress:
            print(f"  item graph: {ig.params()} in {ig_time:.1f}s", flush=True)
    gnn_decay = gnn_recency_decay(cfg) if ours and cfg.use_stage1 else None
    torch.manual_seed(cfg.seed)  # the GNN's initialisation does not depend on whether an item graph was fitted
    model = build_model(graph, cfg, gnn_decay)
    if init is not None:
        init(model)
    model = model.to(device)

    pairs = bpr_pairs(graph, cfg)
    dis = np.unique(np.stack([graph.ui_user[graph.ui_sign < 0], graph.ui_item[graph.ui_sign < 0]], 1), axis=0)
    batch_size, lr = auto_batch_size(cfg, len(pairs))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    use_signed = ours and cfg.use_negative and cfg.signed_weight > 0
    use_centre = ours and cfg.use_concepts and cfg.centre_weight > 0 and graph.num_concepts > 0
    if use_centre:
        c_idx = torch.from_numpy(np.concatenate([graph.ic_concept, graph.uc_concept]))
        c_member = torch.from_numpy(np.concatenate([graph.ic_item + graph.num_users, graph.uc_user]))

    best, best_state, best_epoch, bad = -1.0, None, 0, 0
    train_time = eval_time = cpu_time = 0.0
    if offset is not None:
        if ig is not None:
            raise ValueError("fit: an offset replaces the model's own item graph (set use_item_graph=False)")
        if tuple(offset.shape) != (graph.num_users, graph.num_items):
            raise ValueError(f"fit: offset has shape {tuple(offset.shape)}, expected "
                             f"({graph.num_users}, {graph.num_items}) (users x items)")
        offset = offset.to(device)

    def scorer(emb: tuple[torch.Tensor, torch.Tensor] | None = None):
        f = _embedding_scorer(model, emb=emb)
        return f if offset is None else (lambda users: f(users) + offset[users])

    if init is not None and graph.valid:  # where the warm start stands before any training
        t1 = time.perf_counter()
        m = evaluate(scorer(), graph, "valid", device=device, users=valid_users)
        eval_time += time.perf_counter() - t1
        history.append({"epoch": 0, "loss": float("nan"), "seconds": 0.0,
                        **{k: v for k, v in m.items() if k != "users"}})
        best, best_epoch = m["ndcg@10"], 0
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if progress:
            print(f"  {cfg.model} epoch 0 (warm start): valid ndcg@10={m['ndcg@10']:.4g}"
                  + (" (the GNN part alone)" if ours else ""), flush=True)
    epoch = 0
    t_start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = rng.permutation(len(pairs))
        total = 0.0
        for a in range(0, len(perm), batch_size):
            b = pairs[perm[a: a + batch_size]]
            users = torch.from_numpy(b[:, 0]).to(device)
            pos = torch.from_numpy(b[:, 1]).to(device)
            neg = torch.from_numpy(rng.integers(0, graph.num_items, len(b))).to(device)
            n_b = len(b)
            all_users, all_items = users, torch.cat([pos, neg])
            d = None
            if use_signed and len(dis):
                d = dis[rng.integers(0, len(dis), max(1, n_b // 4))]
                all_users = torch.cat([users, torch.from_numpy(d[:, 0]).to(device)])
                all_items = torch.cat([all_items, torch.from_numpy(d[:, 1]).to(device)])
            if ours:
                u_e, i_e = model(all_users, all_items, max_neighbors=cfg.max_neighbors)
            else:
                u_e, i_e = model(all_users, all_items)
            ub, pe, ne = u_e[:n_b], i_e[:n_b], i_e[n_b: 2 * n_b]
            sp, sn = (ub * pe).sum(-1), (ub * ne).sum(-1)
            if offset is not None:  # residual: the GNN learns what a fixed score misses
                sp, sn = sp + offset[users, pos], sn + offset[users, neg]
            loss = bpr_loss(sp, sn)
            eu, ei = _ego(model, users, torch.cat([pos, neg]))
            loss = loss + cfg.weight_decay * l2_reg(eu, ei)
            if d is not None:
                src = torch.cat([ub, u_e[n_b:]])
                dst = torch.cat([pe, i_e[2 * n_b:]])
                sign = torch.cat([torch.ones(n_b), -torch.ones(len(d))]).to(device)
                loss = loss + cfg.signed_weight * signed_edge_loss(src, dst, sign)
            if use_centre:
                assert isinstance(model, KGRecGNN)  # the concept-centre loss is ours only
                x = model.last_stage1  # (N, F) stage-1 features of this step
                e = torch.from_numpy(rng.integers(0, c_idx.numel(), cfg.centre_edges))
                ci, mi = c_idx[e].to(device), c_member[e].to(device)
                concepts = x[graph.num_users + graph.num_items:]
                loss = loss + cfg.centre_weight * concept_centre_loss(concepts, x[mi], ci)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * n_b
        ep_time = time.perf_counter() - t0
        train_time += ep_time
        cpu_time += time.process_time() - c0
        row = {"epoch": epoch, "loss": total / len(pairs), "seconds": ep_time}
        if graph.valid and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):  # serving mode: no held-out
            t1 = time.perf_counter()
            m = evaluate(scorer(), graph, "valid", device=device, users=valid_users)
            eval_time += time.perf_counter() - t1
            row.update({k: v for k, v in m.items() if k != "users"})
            if m["ndcg@10"] > best:
                best, best_epoch, bad = m["ndcg@10"], epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
        history.append(row)
        log.info("%s epoch %d: %s", cfg.model, epoch, row)
        if progress:
            print(epoch_line(cfg.model, row, len(valid_users) if valid_users is not None else len(graph.valid),
                             part=ig is not None or offset is not None), flush=True)
        if bad >= cfg.patience:
            break
        if cfg.max_seconds is not None and time.perf_counter() - t_start > cfg.max_seconds:
            log.info("stopping at epoch %d: max_seconds %.0f reached", epoch, cfg.max_seconds)
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    parts: dict[str, dict[str, Any]] = {}
    t1 = time.perf_counter()
    emb = _embeddings(model)  # the final parameters: every scorer below reuses these embeddings
    if ig is not None:
        assert isinstance(model, KGRecGNN)  # the item graph is fitted for ours only
        history.extend(attach_item_graph(model, ig, graph, cfg, rng, valid_users, emb))
        # the served score and each part alone (for the report: the selection above used valid only), one
        # scoring pass per split
        gnn = _embedding_scorer(model, fused=False, emb=emb)
        w = model.item_graph_weight
        res = {split: evaluate_mixtures([gnn, ig.score], [[1.0, w], [1.0, 0.0], [0.0, 1.0]], graph, split,
                                        device=device) for split in ("valid", "test")}
        valid, test = res["valid"][0], res["test"][0]
        parts["gnn"] = {split: res[split][1] for split in res}
        parts["item_graph"] = {split: res[split][2] for split in res}
        parts["item_graph"]["params"] = ig.params()
        parts["item_graph"]["weight"] = model.item_graph_weight
        parts["item_graph"]["multiplier"] = getattr(model, "item_graph_multiplier", None)
    else:
        final = scorer(emb)
        valid = evaluate(final, graph, "valid", device=device)
        test = evaluate(final, graph, "test", device=device)
    eval_time += time.perf_counter() - t1
    report = TrainReport(
        model=cfg.model if not ours else _ours_name(cfg), config={**cfg.model_dump(), "batch_size": batch_size, "lr": lr},
        valid=valid, test=test,
        epochs=epoch, best_epoch=best_epoch if graph.valid else epoch, train_seconds=train_time + ig_time,
        epoch_seconds=train_time / max(epoch, 1), epoch_cpu_seconds=cpu_time / max(epoch, 1),
        train_cpu_seconds=cpu_time + ig_cpu, item_graph_seconds=ig_time,
        eval_seconds=eval_time, peak_rss_mb=peak_rss_mb(), history=history, parts=parts,
        recency={"item_graph": ig.decay if ig is not None else None, "gnn": gnn_decay}, device=str(device),
    )
    return model, report


def _ours_name(cfg: TrainConfig) -> str:
    name = "kgrec"
    if not cfg.use_concepts:
        name += "-no-concepts"
    if not cfg.use_negative:
        name += "-no-negative"
    if not cfg.use_stage1:
        name += "-no-stage1"
    if not cfg.use_item_graph:
        name += "-no-item-graph"
    if not cfg.use_recency:
        name += "-no-recency"
    return name


def fit_closed_form(graph: TrainGraph, name: str, grid: list[dict[str, Any]] | None = None,
                    *, seed: int = 0, num_threads: int | None = None,
                    device: str = "auto") -> tuple[object, TrainReport]:
    """Fit ``pop``, ``itemknn``, ``ease`` or ``ease-recency``; pick the grid point with the best valid NDCG@10.

    Args:
        grid: constructor keyword sets, e.g. ``[{"lam": 250}, {"lam": 1000}]`` (default: one default point; for
            ``ease``: every λ of :data:`~kgrec_neo4j.model.itemgraph.DEFAULT_LAMBDAS`, the item graph's grid; for
            ``ease-recency``: those λ times every decay of :data:`~kgrec_neo4j.model.recency.DEFAULT_DECAYS`).
            Points that differ only in ``decay`` share one fit (the decay changes the score, not the weights).
            Without held-out users only the first point is fitted (pass the chosen one, as serving mode does).
    """
    classes = {"pop": MostPopular, "itemknn": ItemKNN, "ease": EASE, "ease-recency": EASE}
    if name not in classes:
        raise ValueError(f"name must be one of {sorted(classes)} (got {name!r})")
    if name == "ease" and any(float(p.get("decay", 1.0)) != 1.0 for p in grid or []):
        raise ValueError("plain 'ease' weighs the history equally (decay 1); use 'ease-recency' for a decay grid")
    solve_on = setup(seed, device, num_threads)  # EASE inverts there; scores are computed on the CPU
    if not grid:
        grid = ([{"lam": lam, "decay": d} for lam in DEFAULT_LAMBDAS for d in DEFAULT_DECAYS] if name == "ease-recency"
                else [{"lam": lam} for lam in DEFAULT_LAMBDAS] if name == "ease" else [{}])
    if not graph.valid:  # nothing held out to choose on (serving mode): the first point, as the item graph does
        grid = grid[:1]
    best: tuple[Any, dict[str, Any], dict[str, Any]] | None = None
    train_time = eval_time = cpu_time = 0.0
    history = []
    fitted: tuple[tuple, Any] | None = None  # the last fit, reused by points that differ only in decay
    for params in grid:
        t0, c0 = time.perf_counter(), time.process_time()
        base = tuple(sorted((k, v) for k, v in params.items() if k != "decay"))
        if fitted is not None and fitted[0] == base and hasattr(fitted[1], "with_decay"):
            rec = fitted[1].with_decay(params.get("decay", 1.0))
        else:
            rec = classes[name](**params)
            rec = rec.fit(graph, solve_on) if isinstance(rec, EASE) else rec.fit(graph)
            fitted = (base, rec)
            if getattr(rec, "reused", False):  # a fit shared within bench's shared_fits() counts its own seconds
                train_time += rec.fit_seconds
                cpu_time += rec.fit_cpu_seconds
        train_time += time.perf_counter() - t0
        cpu_time += time.process_time() - c0
        t1 = time.perf_counter()
        v = evaluate(rec.score, graph, "valid")
        eval_time += time.perf_counter() - t1
        history.append({**{k: float(x) for k, x in params.items()}, "fit_seconds": time.perf_counter() - t0,
                        **{k: x for k, x in v.items() if k != "users"}})
        log.info("%s %s valid %s", name, params, v)
        if best is None or v["ndcg@10"] > best[2]["ndcg@10"]:
            best = (rec, params, v)
    assert best is not None  # the grid has at least one point
    rec, params, valid = best
    del fitted
    t1 = time.perf_counter()
    test = evaluate(rec.score, graph, "test")
    eval_time += time.perf_counter() - t1
    decay = getattr(rec, "decay", None)
    return rec, TrainReport(model=name, config=dict(params), valid=valid, test=test, epochs=0, best_epoch=0,
                            train_seconds=train_time, epoch_seconds=0.0, train_cpu_seconds=cpu_time,
                            eval_seconds=eval_time, peak_rss_mb=peak_rss_mb(), history=history,
                            recency={"item_graph": decay} if decay is not None else {},
                            device=str(solve_on) if isinstance(rec, EASE) else "cpu")
