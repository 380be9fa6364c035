"""Which interactions the interest edges read: the train split (evaluation, the default) or every split (serving).

Evaluation holds each user's last two loaded interactions out as valid and test, so its interests must not read them.
A serving graph has no labels to protect: there, the newest interactions are the ones a short-term interest is about,
and `kgrec interests extract --for serving` reads every interaction, whatever its split. The scope is stored per
extractor on ``(:UpdateState {id: 'graph'})`` (``interests_scope_offline``, ``interests_scope_llm``), so that
``kgrec update`` keeps it, a run over some users cannot mix the two, and an evaluation-mode ``kgrec train`` or
``kgrec evaluate`` refuses interests that read its held-out interactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ...core.errors import KgrecError
from ...core.resources import cypher

if TYPE_CHECKING:  # pragma: no cover
    from ...core.db import Database

Scope = Literal["train", "every"]
MODES: dict[str, Scope] = {"evaluation": "train", "serving": "every"}
MODE_OF: dict[str, str] = {scope: mode for mode, scope in MODES.items()}
SWITCHING = "switching"  # stored as "switching:<target scope>" while a switch has not finished


class ScopeError(KgrecError):
    """Interests that read interactions the command must not see, or a run that would mix two scopes."""


def stored_scopes(db: Database) -> dict[str, Any]:
    """The stored scope of each extractor (``'train'`` where none is stored; ``'switching:<target>'`` during a switch)
    and whether it has state (``<x>_state``: its edges; for the LLM also its progress markers and pending mentions);
    ``any_edges``: whether any interest edge exists (of any extractor)."""
    row = db.query(cypher("interests/scope"))[0]
    return {k: row[k] for k in ("offline", "llm", "offline_state", "llm_state", "any_edges")}


def set_scope(db: Database, extractor: str, scope: str) -> None:
    db.execute(cypher("interests/set_scope"), extractor=extractor, scope=scope)


def switching(scope: str) -> str:
    """The stored value while a switch to ``scope`` has not finished."""
    return f"{SWITCHING}:{scope}"


def resolve(db: Database, extractor: str, mode: str | None, *, every_user: bool, restart: bool = False) -> Scope:
    """The scope a run of ``extractor`` in ``mode`` (None: the stored one) writes, checked against the stored one.

    A switch that did not finish goes on towards its target: for the LLM, a run without ``--restart`` restarts the
    users whose restart failed (their restart is kept pending); for the offline extractor, a run over every user.

    Raises:
        ScopeError: the run would change the scope without covering every user (the graph would hold both), or, for
            the LLM extractor, without ``--restart`` (its progress markers count interactions of the old scope)."""
    s = stored_scopes(db)
    stored, state = str(s[extractor]), bool(s[f"{extractor}_state"])
    want: Scope | None = MODES[mode] if mode is not None else None
    if stored.startswith(SWITCHING):
        target: Scope = "every" if stored.endswith(":every") else "train"
        if not state:
            return want or target
        if extractor == "llm":
            if want in (None, target):
                return target  # the users still to restart are pending: a rerun restarts them
            if restart and every_user:
                return want  # (back, restarting everyone)
        elif every_user:
            return want or target
        flag = " --extractor llm --restart" if extractor == "llm" else ""
        raise ScopeError(f"a switch of the {extractor} interests to {_mode(stored)} did not finish: run `kgrec "
                         f"interests extract{flag} --for {_mode(stored)}` over every user (or switch back the same way)")
    if want is None or want == stored or not state:  # (nothing stored yet: nothing to mix)
        return want or stored  # type: ignore[return-value]
    if not every_user:
        raise ScopeError(f"the {extractor} interests read {_what(stored)}; --for {mode} over some users would leave "
                         f"the graph holding both: run it over every user (no --users, no --user) to switch")
    if extractor == "llm" and not restart:
        raise ScopeError(f"the llm interests read {_what(stored)}; switching them to --for {mode} starts them again: "
                         "add --restart")
    return want


def _mode(scope: str) -> str:
    return "serving" if scope.endswith("every") else "evaluation"


def _what(scope: str) -> str:
    if scope.startswith(SWITCHING):
        return f"a mix of both (a switch to {_mode(scope)} that did not finish)"
    return {"train": "the train split only (--for evaluation)", "every": "every interaction (--for serving)"}.get(
        scope, scope)


def check_for_evaluation(db: Database, dataset: str | None = None) -> None:
    """Refuse evaluation when stored interest edges read held-out interactions: interests extracted for serving, or
    offline interests of users whose interactions changed since (``cypher/interests/stale_users``: a reload that
    drops each user's last interactions makes former train ones valid and test, and the edges still read them; a
    walkthrough measured +47% test NDCG@10 for the GNN part from such edges). The LLM extractor keeps no such mark.

    Raises:
        ScopeError: naming the extractor, or the users, and the command that gives train-only interests again."""
    s = stored_scopes(db)
    for ex in ("offline", "llm"):
        if s[ex] != "train" and s[f"{ex}_state"]:
            fix = ("kgrec interests extract --for evaluation" if ex == "offline"
                   else "kgrec interests extract --extractor llm --restart --for evaluation")
            also = "" if str(s[ex]).startswith(SWITCHING) else " (or train with --for serving)"
            raise ScopeError(f"the {ex} interests read {_what(s[ex])}, so evaluation would see its held-out valid "
                             f"and test interactions through them: run `{fix}` first{also}")
    stale = db.query(cypher("interests/stale_users"), dataset=dataset)[0]
    if stale["users"]:
        n = int(stale["users"])
        who = "1 user's interactions" if n == 1 else f"{n} users' interactions"
        raise ScopeError(f"{who} changed since their offline interests were last computed (e.g. "
                         f"{', '.join(map(repr, stale['examples']))}; a load, an extraction of items they have, or "
                         "an update that did not finish stamped them): a load splits the histories again, so the "
                         "interests may read interactions that are now valid or test, and a new extraction changes "
                         "their items' knowledge. Run `kgrec update` (or `kgrec interests extract` over every user) "
                         "first")


def check_for_serving(db: Database, extractors: tuple[str, ...] = ("offline", "llm")) -> None:
    """Refuse to go on while a switch of the interests of ``extractors`` has not finished: a serving run would train
    on both kinds, and ``kgrec update`` (the offline ones) would stop at its interest step, after the others had run.

    Raises:
        ScopeError: naming the command that finishes the switch."""
    s = stored_scopes(db)
    for ex in extractors:
        if str(s[ex]).startswith(SWITCHING) and s[f"{ex}_state"]:
            flag = " --extractor llm" if ex == "llm" else ""
            raise ScopeError(f"a switch of the {ex} interests to {_mode(s[ex])} did not finish, so they are a mix of "
                             f"both: run `kgrec interests extract{flag} --for {_mode(s[ex])}` over every user first")


def reads_every_split(s: dict[str, Any]) -> bool:
    """Whether, by the :func:`stored_scopes` ``s``, some extractor's interests read every split (or are switching to
    it): `kgrec update` then recomputes the interests of the users of an item whose knowledge changed whatever the
    split of their interaction."""
    return any(str(s[ex]).endswith("every") and s[f"{ex}_state"] for ex in ("offline", "llm"))
