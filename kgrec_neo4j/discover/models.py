"""What discovery reads and returns: observations (a label on an item), proposed types and the report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..extract.base import MAX_VALUE_WORDS

ExtractorName = Literal["llm", "offline"]

PROMPT_VERSION = "type-discovery/1"
MAX_TYPE_WORDS = 4
MAX_TYPE_CHARS = 40
#: default similarity floors (average linkage) per label source, chosen on MiniLM (see docs/type-discovery.md)
DEFAULT_MIN_SIMILARITY = {"llm": 0.6, "offline": 0.45}
OTHERS = "Others"
_OTHERS_KEYS = frozenset({"other", "others", "misc", "miscellaneous", "general", "additional info",
                          "additional information", "extra", "n a", "none", "unknown", "etc"})
_UNSAFE = re.compile(r"https?://|\bwww\.|[<>{}`\\]|[\x00-\x1f\x7f]")
_TEXT_FIELDS = ("title", "features", "description", "categories")


@dataclass(frozen=True)
class Observation:
    """One label seen on one sampled item: a free type name (llm) or a candidate phrase (offline)."""

    item: int  # index into the sample
    label: str
    value: str
    #: offline: the key of the ``"Key: values"`` feature line the value came from (``Director``): the item's own
    #: text says which attribute it is
    attribute: str | None = None


class FreePoint(BaseModel):
    """A knowledge point with an unconstrained type, as the model returns it."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(description=f"a short general name of the kind of knowledge, 1-{MAX_TYPE_WORDS} words")
    value: str = Field(description=f"a short phrase, at most {MAX_VALUE_WORDS} words")


class FreeAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    points: list[FreePoint]


class ProposedType(BaseModel):
    """One cluster of labels, as a type proposal.

    Attributes:
        name: the proposed type name (the most frequent member, title-cased; offline: head word or medoid).
        definition: one generated line listing the top members and examples.
        examples: example values (llm) or member phrases (offline), most frequent first.
        members: the cluster's labels as written (all spellings), most frequent first (at most 12).
        n_members: distinct labels in the cluster.
        mentions: observations (item, label) in the cluster.
        items: sampled items with at least one observation in the cluster.
        coverage: ``items / items_sampled``.
        cohesion: mention-weighted mean cosine of the members to the cluster centroid.
        score: ``coverage * cohesion`` (the ranking key).
    """

    name: str
    definition: str
    examples: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)
    n_members: int = 0
    mentions: int = 0
    items: int = 0
    coverage: float = 0.0
    cohesion: float = 0.0
    score: float = 0.0
    _item_ids: frozenset[int] = PrivateAttr(default_factory=frozenset)
    _from_key: bool = PrivateAttr(default=False)  # offline: the values of the items' "Key: values" lines


class DiscoveryReport(BaseModel):
    """What :func:`discover` did and proposed. ``types`` ends with ``Others``."""

    extractor: str
    pack_name: str
    domain: str
    items_available: int
    items_sampled: int
    items_with_labels: int
    items_failed: int = 0
    observations: int
    distinct_labels: int
    others_labels: int = Field(0, description="observations whose label already meant 'other' (go to Others)")
    clusters: int
    min_similarity: float
    k: int
    types: list[ProposedType]
    runners_up: list[ProposedType] = Field(default_factory=list, description="the next clusters after the k kept")
    covered_by_types: float = Field(0.0, description="share of sampled items with a label in one of the k types")
    dropped: dict[str, int] = Field(default_factory=dict)
    llm: dict[str, Any] | None = None
    out: str | None = None
    seconds: float = 0.0
