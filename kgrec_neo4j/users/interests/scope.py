"""Which interactions the interest edges read: the train split (evaluation, the default) or every split (serving).

Evaluation holds each user's last two loaded interactions out as valid and test, so its interests must not read them.
A serving graph has no labels to protect: there, the newest interactions are the ones a short-term interest is about,
and `kgrec interests extract --for serving` reads every interaction, whatever its split. The scope is stored per
extractor on ``(:UpdateState {id: 'graph'})`` (``interests_scope_offline``, ``interests_scope_llm``), so that
``kgrec update`` keeps it, a run over some users cannot mix the two, and an evaluation-mode ``kgrec train`` or
``kgrec evaluate`` refuses interests that read its held-out interactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ...core.errors import KgrecError
from ...core.resources import cypher

if TYPE_CHECKING:  # pragma: no cover
    from ...core.db import Database

Scope = Literal["train", "every"]
MODES: dict[str, Scope] = {"evaluation": "train", "serving": "every"}
SWITCHING = "switching"


class ScopeError(KgrecError):
    """Interests that read interactions the command must not see, or a run that would mix two scopes."""


def stored_scopes(db: Database) -> dict[str, str]:
    """The stored scope of each extractor (``'train'`` where none is stored), and its edge count (``<x>_edges``)."""
    row = db.query(cypher("interests/scope"))[0]
    return {k: row[k] for k in ("offline", "llm", "offline_edges", "llm_edges")}


def set_scope(db: Database, extractor: str, scope: str) -> None:
    db.execute(cypher("interests/set_scope"), extractor=extractor, scope=scope)


def mode_of(scope: str) -> str:
    return {"train": "evaluation", "every": "serving"}.get(scope, scope)


def resolve(db: Database, extractor: str, mode: str | None, *, every_user: bool, restart: bool = False) -> Scope:
    """The scope a run of ``extractor`` in ``mode`` (None: the stored one) writes, checked against the stored one.

    Raises:
        ScopeError: the run would change the scope without covering every user (the graph would hold both), or, for
            the LLM extractor, without ``--restart`` (its progress markers count interactions of the old scope)."""
    s = stored_scopes(db)
    stored, edges = s[extractor], s[f"{extractor}_edges"]
    if mode is None:
        if stored != SWITCHING:
            return stored  # type: ignore[return-value]
        if not edges:
            return "train"
        flag = " --extractor llm --restart" if extractor == "llm" else ""
        raise ScopeError(f"a switch of the {extractor} interests between evaluation and serving did not finish: run "
                         f"`kgrec interests extract{flag} --for evaluation` (or --for serving) over every user")
    want = MODES[mode]
    if want == stored or not edges:  # (nothing stored yet: nothing to mix)
        return want
    if not every_user:
        raise ScopeError(f"the {extractor} interests read {_what(stored)}; --for {mode} over some users would leave "
                         f"the graph holding both: run it over every user (no --users, no --user) to switch")
    if extractor == "llm" and not restart:
        raise ScopeError(f"the llm interests read {_what(stored)}; switching them to --for {mode} starts them again: "
                         "add --restart")
    return want


def _what(scope: str) -> str:
    return {"train": "the train split only (--for evaluation)", "every": "every interaction (--for serving)",
            SWITCHING: "a mix of both (a switch that did not finish)"}.get(scope, scope)


def check_for_evaluation(db: Database) -> None:
    """Refuse evaluation when stored interest edges read held-out interactions.

    Raises:
        ScopeError: naming the extractor and the command that gives it train-only interests again."""
    s = stored_scopes(db)
    for ex in ("offline", "llm"):
        if s[ex] != "train" and s[f"{ex}_edges"]:
            fix = ("kgrec interests extract --for evaluation" if ex == "offline"
                   else "kgrec interests extract --extractor llm --restart --for evaluation")
            raise ScopeError(f"the {ex} interest edges read {_what(s[ex])}, so evaluation would see its held-out "
                             f"valid and test interactions through them: run `{fix}` first (or train with "
                             "--for serving)")
