"""Recording interactions and items live, as an application does when a user buys, rates or reviews an item, or
when the catalogue gets a new item: the HTTP service's ``POST /users/{user}/interactions`` and ``POST /items``
(``kgrec serve --writes``), :func:`record_interaction` and :func:`record_item`.

The edge is a train ``INTERACTED`` edge after the user's highest stored ``seq`` (``cypher/interactions/record.cypher``),
so the very next recommendation of the user counts it (serving folds the user in from the user's edges on every
request) and ``kgrec update`` later classifies it and recomputes the user's interests. A user not stored yet is
created in the item's dataset; an unknown item is refused (items come from the catalogue: :func:`record_item` or
``kgrec load``). A request
retried with the same ``timestamp`` is not written twice.

An item is written as ``kgrec load --append`` writes an item record (``cypher/load/items.cypher``): into a stored
dataset, its text fields replaced by those the record has (the others kept), with the hash of its text, so the next
``kgrec update`` extracts it (or extracts it again when its text changed), projects its knowledge and folds it into
the current run: from then on it is recommended and explained, before any retraining. A record whose text is what
is stored writes nothing. (The ``Dataset`` node's counts are those of its last load.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ..core.db import Database
from ..core.errors import KgrecError
from ..core.resources import cypher
from ..core.texthash import TEXT_FIELDS, text_hash
from ..load.read import MAX_LINE_BYTES


class RecordError(KgrecError):
    """An interaction that cannot be recorded (the message says why and what to do; ``field``: the request's field
    at fault, if one is)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownItem(RecordError):
    """The item is not stored."""


class DatasetClash(RecordError):
    """The user is stored in another dataset than the item."""


class InteractionClash(RecordError):
    """An interaction of the user with the item at the request's timestamp is stored with other values."""


class UnknownDataset(RecordError):
    """The dataset is not stored."""


#: the largest integer a Neo4j property holds (64 bits): a larger timestamp failed in the driver, a 500
MAX_TIMESTAMP = 2**63 - 1


def _not_blank(v: str) -> str:
    """An id with a character that is not a space: the loader refuses a blank id (``field 'user_id' is empty``), and
    so does the service, which writes the same nodes."""
    if not v.strip():
        raise PydanticCustomError("blank_id", "must have a character that is not a space (as `kgrec load` requires)")
    if v != v.strip():  # ('MU5 ' would be another id than 'MU5')
        raise PydanticCustomError("spaced_id", "must not start or end with a space (as `kgrec load` requires)")
    return v


def a_number(v: Any, info: ValidationInfo) -> Any:
    """A number field's check before pydantic reads it: JSON true / false / "4" were taken as 1 / 0 / 4 (`"rating":
    true` recorded a dislike), and a float must be finite (also the sessions' ratings, serve/recommend.py)."""
    if isinstance(v, bool | str):
        raise ValueError(f"{info.field_name} must be a JSON number, not {json.dumps(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{info.field_name} must be a finite number")
    return v


class InteractionIn(BaseModel):
    """One interaction of a user, as an application sends it (an unknown field is refused: a misspelled ``rating``
    would otherwise record an implicit interaction)."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=1000, description="Item.id")
    rating: float | None = Field(None, ge=0, le=5, description="0-5; >= 4 is a like, <= 2 a dislike (the loader's "
                                                                 "rule); none: an implicit interaction")
    timestamp: int | None = Field(None, ge=0, le=MAX_TIMESTAMP,
                                  description="seconds since 1970 (a retried request with the same timestamp is not "
                                              "written twice)")
    review_title: str | None = Field(None, max_length=1000)
    review_text: str | None = Field(None, max_length=100_000)

    _item = field_validator("item")(_not_blank)

    _numbers = field_validator("rating", "timestamp", mode="before")(a_number)


class Recorded(BaseModel):
    user: str
    item: str
    seq: int = Field(description="the edge's seq: the user's latest")
    written: bool = Field(description="false: an interaction of the user with this item at this timestamp, with "
                                      "these values, was stored already (a retry)")
    new_user: bool


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], value: M | Mapping[str, Any]) -> M:
    """``value`` as ``model``: a mapping is validated (a Python caller passes a dict as the service passes JSON); a
    field at fault is a :class:`RecordError` naming it, as a 400 of the service does, not pydantic's own error."""
    if isinstance(value, model):
        return value
    if not isinstance(value, Mapping):
        raise RecordError(f"expected a {model.__name__} or a dict of its fields, not {type(value).__name__}")
    try:
        return model.model_validate(dict(value))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"])) or None
        raise RecordError(f"{where or model.__name__}: {first['msg']}", field=where) from None


def record_interaction(db: Database, user: str, interaction: InteractionIn | Mapping[str, Any]) -> Recorded:
    """Store ``interaction`` of ``user`` (module docstring), in one transaction. ``interaction``: an
    :class:`InteractionIn` or a dict of its fields (``{"item": "B0018YDKBS", "rating": 5, "timestamp": …}``).

    Raises:
        RecordError: a field of ``interaction`` at fault (``field`` names it), or a blank ``user``.
        UnknownItem: the item is not stored.
        DatasetClash: the user is stored in another dataset than the item.
        InteractionClash: an interaction with the item at this timestamp is stored with another rating or review."""
    if not user.strip() or len(user) > 1000 or user != user.strip():
        raise RecordError("user: an id of 1 to 1000 characters, not all of them spaces and none at its start or end, "
                          "is required", field="user")
    it = _validated(InteractionIn, interaction)

    def work(tx):
        row = tx.run(cypher("interactions/record"), user=user, item=it.item, rating=it.rating,
                     timestamp=it.timestamp, review_title=it.review_title, review_text=it.review_text).single()
        if row is None:
            raise UnknownItem(f"item {it.item!r} is not stored: interactions are recorded with items of the "
                              f"catalogue (add it with POST /items or `kgrec load --append`)")
        if row["clash"]:  # (nothing was written)
            raise DatasetClash(f"user {user!r} is of dataset {row['user_dataset']!r} and item {it.item!r} of "
                               f"{row['item_dataset']!r}: ids are unique per dataset, and a user interacts with "
                               f"the items of its own dataset")
        if row["differs"]:  # (nothing was written)
            stored = "no rating" if row["stored_rating"] is None else f"rating {row['stored_rating']:g}"
            fields = list(row["differing"] or []) or ["timestamp"]
            raise InteractionClash(f"user {user!r} has an interaction with item {it.item!r} at timestamp "
                                   f"{it.timestamp} stored already (seq {row['seq']}, {stored}) and this one's "
                                   f"{' and '.join(fields)} differ{'s' if len(fields) == 1 else ''}: a retry sends the "
                                   f"same values; a new interaction (a new rating) another timestamp",
                                   field=fields[0])
        return Recorded(user=user, item=it.item, seq=int(row["seq"]), written=bool(row["written"]),
                        new_user=bool(row["new_user"]))

    return db.write_tx(work)


class ItemIn(BaseModel):
    """One item of the catalogue, as an application sends it: the id, its dataset, and the text fields it has
    (the fields left out keep their stored values; an unknown field is refused, as a misspelled text field would
    otherwise leave the stored one as it was)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=1000, description="Item.id (as stored: with the dataset's id prefix)")
    dataset: str = Field(min_length=1, max_length=1000, description="a stored dataset (`kgrec load`)")
    title: str | None = Field(None, max_length=10_000)
    description: list[str] | None = Field(None, max_length=1000)
    features: list[str] | None = Field(None, max_length=1000)
    categories: list[str] | None = Field(None, max_length=1000)
    brand: str | None = Field(None, max_length=1000)

    _ids = field_validator("id", "dataset")(_not_blank)


class RecordedItem(BaseModel):
    item: str
    dataset: str
    written: bool = Field(description="false: the item was stored with this text already")
    new_item: bool


def record_item(db: Database, item: ItemIn | Mapping[str, Any]) -> RecordedItem:
    """Store ``item`` (module docstring), in one transaction. ``item``: an :class:`ItemIn` or a dict of its fields.

    Raises:
        RecordError: a record of more than :data:`~kgrec_neo4j.load.read.MAX_LINE_BYTES` bytes of JSON, as
            ``kgrec load`` refuses a longer line (naming its largest text field).
        UnknownDataset: the dataset is not stored.
        DatasetClash: the item is stored in another dataset."""
    item = _validated(ItemIn, item)
    given = item.model_dump(include=set(TEXT_FIELDS), exclude_unset=True)
    size = len(json.dumps(item.model_dump(exclude_unset=True), ensure_ascii=False).encode())
    if size > MAX_LINE_BYTES:
        big = max(given, key=lambda f: len(json.dumps(given[f], ensure_ascii=False).encode()))
        raise RecordError(f"{big}: the item's record is {size:,} bytes of JSON, over the {MAX_LINE_BYTES:,} bytes "
                          f"`kgrec load` takes in an item record (its extraction would hold up every `kgrec update`)",
                          field=big)

    def work(tx):
        check = tx.run(cypher("load/item_record_check"), id=item.id, dataset=item.dataset).single()
        if not check["dataset_found"]:
            raise UnknownDataset(f"dataset {item.dataset!r} is not stored: items are added to a loaded dataset "
                                 f"(`kgrec load PATH --dataset {item.dataset}` first)")
        if check["item_found"] and check["item_dataset"] and check["item_dataset"] != item.dataset:
            raise DatasetClash(f"item {item.id!r} is of dataset {check['item_dataset']!r}, not {item.dataset!r}: "
                               f"ids are unique per dataset")
        stored = dict(check["stored"] or {})
        row = {"id": item.id, **{f: stored.get(f) for f in TEXT_FIELDS}, **given}
        row["text_hash"] = text_hash(row)
        res = tx.run(cypher("load/items"), rows=[row], dataset=item.dataset, recorded=True).single()
        return RecordedItem(item=item.id, dataset=item.dataset, written=bool(res and res["written"]),
                            new_item=not check["item_found"])

    return db.write_tx(work)
