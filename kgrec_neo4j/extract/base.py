"""The data every extractor takes and returns. Shared by the LLM and the offline extractor."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..core.texthash import text_hash as hash_text

MAX_VALUE_WORDS = 8

#: a ``"Key: values"`` feature line (``Director: Billy Wilder, I. A. L. Diamond``): its key and its values
KEYED_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{1,30}):\s*(.+)$")


def line_values(values: str) -> list[str]:
    """The values of a keyed line (its second group), split at commas, semicolons and bars; empty ones left out."""
    return [v.strip() for v in re.split(r",|;|\|", values) if v.strip()]

# A description that ends in its writer's credit, the convention of plot synopses ("... before he moves without
# them. —John Wiggins", "—Claudio Carvalho, Rio de Janeiro, Brazil", "—- written by: R. Merriman"): an em dash after
# a space or a sentence's end, then at most ten words to the end of the paragraph.
_CREDIT = re.compile(r"(?:(?<=\s)|(?<=[.!?\"')\]]))—-?\s*[^—\s][^—]{0,79}$")


def strip_credit(text: str) -> str:
    """``text`` without a writer's credit at its end. The credit names who wrote the text, not anything about the
    item: read as text it made the writer a cast member (*People: John Vogel* on ten films) and the writer's city a
    setting (*Rio de Janeiro* on 25), linking films that share nothing but their synopsis writer."""
    m = _CREDIT.search(text)
    if m is None or len(m.group(0).split()) > 10:
        return text
    return text[: m.start()].rstrip()


class ItemText(BaseModel):
    """The text of one item, as stored on ``(:Item)``."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    title: str | None = None
    description: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    brand: str | None = None
    reviews: list[str] = Field(default_factory=list)

    def text_hash(self) -> str:
        """Stable hash of the text an extractor sees (part of every cache key)."""
        return hash_text(self.model_dump(exclude={"item_id", "reviews"}), self.reviews)

    def catalogue_text(self) -> str:
        """The item's own text in one string (title, brand, categories, features, description; no reviews)."""
        return " ".join([self.title or "", self.brand or "", *self.categories, *self.features, *self.description])


def without_features(item: ItemText, keys: tuple[str, ...]) -> ItemText:
    """``item`` without its ``"Key: values"`` feature lines of the lower-case ``keys`` (a pack's
    ``features_left_out``: a field of the source that is not about the item, which neither extractor reads)."""
    if not keys:
        return item
    kept = [f for f in item.features if f.split(":", 1)[0].strip().lower() not in keys or ":" not in f]
    return item if len(kept) == len(item.features) else item.model_copy(update={"features": kept})


class KnowledgePoint(BaseModel):
    """One typed knowledge point of an item."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="one of the active pack's knowledge types")
    value: str = Field(description=f"a short phrase, at most {MAX_VALUE_WORDS} words")
    confidence: float = Field(ge=0.0, le=1.0, description="how sure the extractor is, 0..1")
    evidence: str | None = Field(default=None, description="the span of the item text it comes from")


class ItemResult(BaseModel):
    """What an extractor returned for one item: points, or an error (never both written)."""

    item_id: str
    text_hash: str
    points: list[KnowledgePoint] = Field(default_factory=list)
    error: str | None = None
    dropped: dict[str, int] = Field(default_factory=dict)  # reason -> count


class Extractor(Protocol):
    name: str

    def extract(self, items: list[ItemText]) -> list[ItemResult]: ...


def mention_key(text: str) -> str:
    """Normalised key of a mention value: NFKC, lower case, punctuation folded, spaces collapsed.

    ``"PlayStation-4 "`` and ``"playstation 4"`` share a key; ``"PS4"`` does not (that is the
    concept layer's job).
    """
    return _mention_key(text)


_DASHES = re.compile(r"[\u2010-\u2015_\-/]+")
_NOT_KEY = re.compile(r"[^\w\s+#.&]")
_WS = re.compile(r"\s+")


@lru_cache(maxsize=262_144)
def _mention_key(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    t = _DASHES.sub(" ", t)
    t = _NOT_KEY.sub(" ", t)
    return _WS.sub(" ", t).strip(" .")
