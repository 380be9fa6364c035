"""Finding one's way in the graph: list and search users and items, show one item or one user.

Every function reads only (``cypher/lookup/``) and raises :class:`~kgrec_neo4j.core.errors.KgrecError` for an
id that is not in the database, saying how to find one.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.errors import KgrecError
from ..core.resources import cypher

__all__ = ["ItemView", "UserView", "find_users", "find_items", "show_item", "show_user"]


class ItemView(BaseModel):
    """One item with its knowledge points by type and its strongest item links of the current run, both ways:
    ``links`` to the items it raises for a user who has it, ``links_in`` from the items that raise it (an item
    folded in by ``kgrec update`` has both ``borrowed`` from its nearest trained items)."""

    item: str
    title: str | None = None
    brand: str | None = None
    categories: list[str] = Field(default_factory=list)
    dataset: str | None = None
    interactions: int = 0
    points: dict[str, list[dict[str, Any]]] = Field(default_factory=dict, description="type -> knowledge points")
    links: list[dict[str, Any]] = Field(default_factory=list, description="outgoing item links, strongest first")
    links_in: list[dict[str, Any]] = Field(default_factory=list, description="incoming item links, strongest first")


class UserView(BaseModel):
    """One user: interaction counts, history, top interests and stored recommendations."""

    user: str
    interactions: int = 0
    train: int = 0
    interests: int = 0
    history: list[dict[str, Any]] = Field(default_factory=list)
    top_interests: list[dict[str, Any]] = Field(default_factory=list)
    recommended: list[dict[str, Any]] = Field(default_factory=list)
    recommended_run: str | None = Field(None, description="the run the stored recommendations came from")
    recommended_at: str | None = Field(None, description="when they were stored (UTC, ISO 8601)")
    interactions_since: int | None = Field(None, description="the user's interactions newer than the stored "
                                                             "recommendations (None: not recorded with them)")


def _limit(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"limit must be >= 1 (got {limit})")
    return limit


def find_users(db: Database, text: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
    """Users whose id contains ``text`` (all when ``None``), the most active first."""
    return db.query(cypher("lookup/users"), text=text or None, limit=_limit(limit))


#: a leading article of a search, which catalogues often move behind the title ("Godfather, The (1972)")
_ARTICLE = re.compile(r"^(the|a|an)\s+(?=\S)", re.IGNORECASE)


def find_items(db: Database, text: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
    """Items whose title or id contains ``text`` (all when ``None``), the most interacted first. A search that
    starts with an article also finds the title with the article moved behind it: "the godfather" finds
    "Godfather, The (1972)"."""
    text = (text or "").strip() or None
    moved = None
    if text is not None and (m := _ARTICLE.match(text)):
        moved = f"{text[m.end():]}, {m.group(1)}"
    return db.query(cypher("lookup/items"), text=text, moved=moved, limit=_limit(limit))


def show_item(db: Database, item: str, *, links: int = 10) -> ItemView:
    """One item: fields, knowledge points grouped by type (with their canonical concepts), its top ``links`` item
    links of the current run each way (outgoing and incoming)."""
    rows = db.query(cypher("lookup/item"), item=item)
    if not rows:
        raise KgrecError(f"item {item!r} is not in the database; find one with `kgrec items search TEXT`")
    r = rows[0]
    points: dict[str, list[dict[str, Any]]] = {}
    for p in r.pop("points"):
        points.setdefault(p.pop("type") or "?", []).append(p)
    view = ItemView(**{k: v for k, v in r.items() if v is not None}, points=points)
    rows = db.query(cypher("lookup/item_links"), item=item, limit=_limit(links))
    view.links = [{k: v for k, v in r.items() if k != "direction"} for r in rows if r["direction"] == "out"]
    view.links_in = [{k: v for k, v in r.items() if k != "direction"} for r in rows if r["direction"] == "in"]
    return view


def show_user(db: Database, user: str, *, history: int = 20, top: int = 5) -> UserView:
    """One user: counts, the last ``history`` interactions (in order), ``top`` interests per horizon and polarity, and the
    stored recommendations with their run, when they were stored and how many of the user's interactions are newer
    than them."""
    from ..users.interests.profile import build_profile

    summary = db.query(cypher("explain/user_summary"), user=user)
    if not summary:
        raise KgrecError(f"user {user!r} is not in the database; find one with `kgrec users list` or "
                         f"`kgrec users search TEXT`")
    prof = build_profile(db, user, top=top)
    view = UserView(user=user, interactions=prof.interactions, train=prof.train, interests=summary[0]["interests"])
    view.history = db.query(cypher("lookup/user_history"), user=user, limit=_limit(history))[::-1]
    view.top_interests = [{"group": g, "type": x.type, "concept": x.concept_id, "name": x.name, "weight": x.weight,
                           "confidence": x.confidence}
                          for g, xs in prof.groups.items() for x in xs]
    view.recommended = db.query(cypher("recommend/stored"), user=user)
    for r in db.query(cypher("lookup/user_recommended"), user=user):
        view.recommended_run, view.recommended_at, view.interactions_since = r["run"], r["stored_at"], r["newer"]
    return view
