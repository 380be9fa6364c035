"""Short-term interests in the score: recency weights of a user's ordered history.

A user's history is ordered by ``seq`` (``INTERACTED.seq``: position in the user's history). The weight of an
interaction is ``decay ** r`` where ``r`` is the number of the same user's interactions that come after it (its
position counted back from the most recent one, which gets ``1``). ``decay = 1`` weighs every interaction
equally, as an unordered set does.

Training and serving call the same function, :func:`history_weights`, so a served score is the trained one for
any history: with ``users`` it weighs many users' interactions at once (training), without it one user's
history (serving, one request). The decay is chosen on valid and stored with the run (``TrainReport.config`` /
the ``(:ModelRun)`` config as ``recency_decay``).

Position, not time: the Amazon data sets carry a timestamp on a few percent of interactions only (none on
Office), while ``seq`` is always there.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: decays tried on valid (1.0 keeps the unordered history, so valid can switch recency off)
DEFAULT_DECAYS: tuple[float, ...] = (1.0, 0.95, 0.9, 0.8, 0.7, 0.5)


def check_decay(decay: float) -> float:
    """``decay`` as a float, or ValueError unless ``0 < decay <= 1``."""
    decay = float(decay)
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"recency decay must be in (0, 1] (got {decay}); 1 weighs every interaction equally")
    return decay


def latest_when_missing(seqs: np.ndarray, users: np.ndarray) -> np.ndarray:
    """``seqs`` with each missing one (NaN: an edge without ``seq``, e.g. typed in Browser) set to one after its user's
    highest known ``seq`` (``0`` for a user with none): such an edge counts as the user's latest, in training as in
    serving (:func:`kgrec_neo4j.model.foldin.row_recency`). Several of one user are equally late.

    Returns:
        float64 ``(E,)`` aligned with ``seqs``, without NaN.
    """
    seqs = np.array(seqs, np.float64).reshape(-1)
    users = np.asarray(users, np.int64).reshape(-1)
    if users.shape != seqs.shape:
        raise ValueError(f"users and seqs must have the same length (got {users.size} and {seqs.size})")
    missing = np.isnan(seqs)
    if not missing.any():
        return seqs
    last = np.full(int(users.max()) + 1, -1.0)
    np.maximum.at(last, users[~missing], seqs[~missing])
    seqs[missing] = last[users[missing]] + 1.0
    return seqs


def steps_back(seqs: np.ndarray, users: np.ndarray | None = None) -> np.ndarray:
    """Per interaction, how many interactions of the same user come later by ``seq`` (0 for the latest).

    Args:
        seqs: ``(E,)`` the interactions' ``seq`` (any order; equal ``seq`` of one user count as simultaneous).
        users: ``(E,)`` user index of each interaction; ``None``: all of ``seqs`` is one user's history.

    Returns:
        int64 ``(E,)`` aligned with ``seqs``.
    """
    seqs = np.asarray(seqs, np.int64).reshape(-1)
    users = np.zeros(seqs.size, np.int64) if users is None else np.asarray(users, np.int64).reshape(-1)
    if users.shape != seqs.shape:
        raise ValueError(f"users and seqs must have the same length (got {users.size} and {seqs.size})")
    if seqs.size == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((-seqs, users))  # per user, latest first
    u, s = users[order], seqs[order]
    first = np.ones(order.size, bool)
    first[1:] = u[1:] != u[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    # ties: an interaction's rank is the count of the user's interactions with a strictly larger seq
    new_seq = first.copy()
    new_seq[1:] |= s[1:] != s[:-1]
    tie_start = np.maximum.accumulate(np.where(new_seq, np.arange(order.size), 0))
    out = np.empty(order.size, np.int64)
    out[order] = tie_start - start
    return out


def history_weights(seqs: np.ndarray, decay: float, users: np.ndarray | None = None) -> np.ndarray:
    """Recency weight ``decay ** steps_back`` of each interaction (see the module docstring).

    Args:
        seqs: ``(E,)`` ``seq`` of each interaction.
        decay: in ``(0, 1]``; ``1`` gives all ones.
        users: ``(E,)`` user of each interaction, or ``None`` for one user's history.

    Returns:
        float32 ``(E,)`` in ``(0, 1]``, aligned with ``seqs``.
    """
    decay = check_decay(decay)
    back = steps_back(seqs, users)
    if decay == 1.0:
        return np.ones(back.size, np.float32)
    return np.power(decay, back.astype(np.float64)).astype(np.float32)


def item_weights(items: np.ndarray, seqs: np.ndarray, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """One user's history as ``(unique items, weight of each)``: the :func:`history_weights` of the item's latest
    interaction (a repeat counts at its latest), as the item graph and the GNN user side weigh it. Serving calls
    it on the user's current ``INTERACTED`` edges (``items`` and ``seq`` aligned; all of them, dislikes too, since
    they count as steps back).

    Returns:
        int64 ``(n,)`` sorted items and float32 ``(n,)`` their weights in ``(0, 1]``.
    """
    items = np.asarray(items, np.int64).reshape(-1)
    w = history_weights(seqs, decay)
    if items.shape != w.shape:
        raise ValueError(f"items and seqs must have the same length (got {items.size} and {w.size})")
    uniq, inv = np.unique(items, return_inverse=True)
    out = np.zeros(uniq.size, np.float32)
    np.maximum.at(out, inv, w)
    return uniq, out


def pair_weights(users: np.ndarray, items: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """User x item matrix with the largest weight of each (user, item) pair (a repeat counts at its latest)."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    w = np.asarray(weights, np.float32)
    if w.size == 0:
        return sp.csr_matrix(shape, dtype=np.float32)
    key = users * shape[1] + items
    order = np.lexsort((-w, key))
    key, w = key[order], w[order]
    first = np.ones(key.size, bool)
    first[1:] = key[1:] != key[:-1]
    k, v = key[first], w[first]
    return sp.csr_matrix((v, (k // shape[1], k % shape[1])), shape=shape, dtype=np.float32)
