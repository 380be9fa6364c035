"""Item knowledge points from an LLM (any OpenAI-compatible endpoint), validated before anything is kept.

:class:`LLMExtractor` runs one LangChain chain per item -- the pack's ``ChatPromptTemplate``
(``extract/prompts.py``) -> ``ChatOpenAI.with_structured_output`` -> validation against :class:`RawAnswer`
(:meth:`kgrec_neo4j.llm.LLMClient.chain`) -- batched with ``abatch`` by the client (concurrency, retries,
cache, accounting), then applies the rules every stored point must pass:

* the type must be in the active pack: otherwise it is mapped to ``Others`` (``unknown_type="others"``,
  counted in ``stats.adjusted["unknown_type_to_others"]``) or dropped (``"reject"``, counted in
  ``ItemResult.dropped["unknown_type"]``); a type differing only in case or spacing is matched;
* the value is trimmed; empty values, placeholders (``"..."``, ``"N/A"``, ``"value"``), values that only
  repeat a type name (``"Product Type"``: small models echo the prompt), values over 8 words / 80
  characters, values that look like URLs, markup or instructions, and repeated values (same type and
  normalised key) are dropped, each counted under its reason in ``ItemResult.dropped``; so are values
  copied from the prompt's worked example that share no word with the item text;
* at most ``max_points`` points are kept (``dropped["over_max_points"]``);
* a confidence outside 0..1 is clamped (``adjusted["confidence_clamped"]``); evidence that is not a
  span of the item text is removed (``adjusted["evidence_not_in_text"]``).

An item whose answer fails after the client's retries comes back with ``error`` set and no points:
never half-written. Which items to skip on a rerun is the storage side's business (items that
already have MENTIONS from this extractor); the on-disk cache makes repeated items free anyway.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from ..core.config import Settings
from ..core.schema import TypePack
from ..llm.client import LLMClient, RunStats
from .base import MAX_VALUE_WORDS, ItemResult, ItemText, KnowledgePoint, mention_key, without_features
from .prompts import PROMPT_VERSION, WORKED_EXAMPLES, prompt_safe_text, prompt_template, render_item

log = logging.getLogger(__name__)

MAX_VALUE_CHARS = 80
MAX_EVIDENCE_CHARS = 120

_UNSAFE = re.compile(
    r"https?://|\bwww\.|[<>{}`\\]|[\x00-\x1f\x7f]"
    r"|\b(ignore|disregard|forget)\b.{0,40}\b(instruction|prompt|rule)s?\b"
    r"|\b(system prompt|you are now|as an ai)\b",
    re.I,
)


_PLACEHOLDERS = frozenset({"n a", "na", "none", "null", "unknown", "value", "string", "text", "example", "...", "tbd"})


class RawPoint(BaseModel):
    """One point as the model returns it (lenient on type and confidence; rules apply afterwards)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    value: str
    confidence: float
    evidence: str | None = None


class RawAnswer(BaseModel):
    """The model's answer for one item."""

    model_config = ConfigDict(extra="forbid")

    points: list[RawPoint]


def answer_json_schema(pack: TypePack, max_points: int) -> dict:
    """The JSON schema the server is asked to follow (tighter than :class:`RawAnswer`)."""
    point = {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "value", "confidence", "evidence"],
        "properties": {
            "type": {"type": "string", "enum": pack.names},
            "value": {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_CHARS},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "evidence": {"anyOf": [{"type": "string", "maxLength": MAX_EVIDENCE_CHARS}, {"type": "null"}]},
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["points"],
        "properties": {"points": {"type": "array", "items": point, "maxItems": max_points}},
    }


class ExtractionStats(BaseModel):
    """Counts of an extractor over all its ``extract`` calls."""

    items: int = 0
    succeeded: int = 0
    failed: int = 0
    points: int = 0
    dropped: dict[str, int] = Field(default_factory=dict, description="reason -> points dropped")
    adjusted: dict[str, int] = Field(default_factory=dict, description="what was repaired -> points")
    errors: dict[str, int] = Field(default_factory=dict, description="reason -> items failed")
    llm: RunStats = Field(default_factory=RunStats)


def _example_keys(pack_name: str) -> set[str]:
    ex = WORKED_EXAMPLES.get(pack_name)
    return {mention_key(p["value"]) for p in ex[1]["points"]} if ex else set()


def full_text(item: ItemText) -> str:
    """All of an item's text, cleaned, unclipped (what evidence and grounding are checked against)."""
    parts = [item.title or "", item.brand or "", *item.categories, *item.features, *item.description, *item.reviews]
    return " ".join(prompt_safe_text(p) for p in parts if p)


def _norm_type(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().lower()


def _tidy(value: str) -> str:
    v = re.sub(r"\s+", " ", value).strip()
    return v.strip(" \"'“”‘’.,;:")


def postprocess(answer: RawAnswer, item: ItemText, pack: TypePack, *, max_points: int,
                unknown_type: Literal["others", "reject"] = "others", require_grounded: bool = False,
                adjusted: Counter | None = None) -> tuple[list[KnowledgePoint], dict[str, int]]:
    """Apply the validation rules (module docstring) to one answer: ``(kept points, dropped counts)``."""
    by_norm = {_norm_type(n): n for n in pack.names}
    type_keys = {mention_key(n) for n in pack.names}
    example_keys = _example_keys(pack.name)
    dropped: Counter = Counter()
    adjusted = adjusted if adjusted is not None else Counter()
    text_key = f" {mention_key(full_text(item))} "
    seen: set[tuple[str, str]] = set()
    kept: list[KnowledgePoint] = []
    for rp in answer.points:
        t = by_norm.get(_norm_type(rp.type))
        if t is None:
            if unknown_type == "reject":
                dropped["unknown_type"] += 1
                continue
            t = "Others"
            adjusted["unknown_type_to_others"] += 1
        value = _tidy(rp.value)
        key = mention_key(value) if value else ""
        if not key:
            dropped["empty_value"] += 1
            continue
        if len(value.split()) > MAX_VALUE_WORDS or len(value) > MAX_VALUE_CHARS:
            dropped["overlong_value"] += 1
            continue
        if key in _PLACEHOLDERS:
            dropped["placeholder_value"] += 1
            continue
        if key in type_keys:
            dropped["value_is_type_name"] += 1
            continue
        if _UNSAFE.search(value):
            dropped["unsafe_value"] += 1
            continue
        grounded = any(f" {w} " in text_key for w in key.split() if len(w) > 2)
        if require_grounded and not grounded:
            dropped["ungrounded_value"] += 1
            continue
        if key in example_keys and not grounded:
            dropped["copied_from_example"] += 1
            continue
        if (t, key) in seen:
            dropped["duplicate_value"] += 1
            continue
        if len(kept) >= max_points:
            dropped["over_max_points"] += 1
            continue
        conf = rp.confidence
        if not math.isfinite(conf):
            dropped["bad_confidence"] += 1
            continue
        if conf < 0 or conf > 1:
            conf = min(1.0, max(0.0, conf))
            adjusted["confidence_clamped"] += 1
        evidence = prompt_safe_text(rp.evidence or "")[:MAX_EVIDENCE_CHARS] or None
        if evidence is not None:
            ek = mention_key(evidence)
            if not ek or f" {ek} " not in text_key:
                evidence = None
                adjusted["evidence_not_in_text"] += 1
        seen.add((t, key))
        kept.append(KnowledgePoint(type=t, value=value, confidence=conf, evidence=evidence))
    return kept, dict(dropped)


class LLMExtractor:
    """Extract typed knowledge points of items with an LLM.

    Args:
        settings: LLM endpoint settings (``llm_base_url``, ``llm_model``, ...) and ``home`` (cache).
        pack: the active type pack (:func:`kgrec_neo4j.core.schema.load_pack`).
        max_points: most points kept per item (also asked of the model).
        unknown_type: ``"others"`` maps a type outside the pack to ``Others``; ``"reject"`` drops the point.
        concurrency: requests in flight (default ``settings.llm_concurrency``).
        require_grounded: drop values sharing no word (over 2 letters) with the item text.
        client: an existing :class:`LLMClient` (e.g. one built on a LangChain fake chat model in
            tests); otherwise one is built from ``settings`` and ``client_options``.
        progress: show a progress bar with ETA while extracting.
        max_tokens: answer limit per item (default ``60 * max_points + 60``).
        examples: include the pack's worked example in the prompt (about 250 tokens more per call;
            small local models need it more, a CPU-bound test may turn it off).
        client_options: passed to :class:`LLMClient` (``cache``, ``timeout_s``, ``max_retries``, ...).

    Example::

        ex = LLMExtractor(settings, load_pack("video_games"))
        results = ex.extract(items)       # list[ItemResult], one per item, same order
        print(ex.stats.llm.calls, ex.stats.dropped)
    """

    def __init__(self, settings: Settings, pack: TypePack, *, max_points: int = 12,
                 unknown_type: Literal["others", "reject"] = "others", concurrency: int | None = None,
                 require_grounded: bool = False, client: LLMClient | None = None, progress: bool = False,
                 max_tokens: int | None = None, examples: bool = True, **client_options):
        if max_points < 1:
            raise ValueError(f"max_points must be >= 1 (got {max_points})")
        if unknown_type not in ("others", "reject"):
            raise ValueError(f"unknown_type must be 'others' or 'reject' (got {unknown_type!r})")
        if "Others" not in pack.names:
            raise ValueError(f"the pack {pack.name!r} has no 'Others' type (got {pack.names})")
        self.settings = settings
        self.pack = pack
        self.max_points = max_points
        self.unknown_type = unknown_type
        self.require_grounded = require_grounded
        self.progress = progress
        self.max_tokens = max_tokens or 60 * max_points + 60
        self.examples = examples
        self.use_reviews = False  # read by extract/run.py: whether item text should include review text
        self._own_client = client is None
        self.client = client or LLMClient(settings, concurrency=concurrency, max_tokens=self.max_tokens,
                                          **client_options)
        self.concurrency = concurrency
        # items per extract call and write (extract_items' default): a few rounds of requests in flight, so that
        # the progress bar moves and answers are stored as they come (256 items showed 0 done, and stored none, for
        # minutes on a local model)
        self.default_batch = 4 * max(self.client.concurrency if concurrency is None else concurrency, 4)
        self.name = f"llm:{self.client.model_name}"
        self.prompt_version = f"{PROMPT_VERSION}/{unknown_type}"
        self._json_schema = answer_json_schema(pack, max_points)
        self.spec = self.client.spec(RawAnswer, json_schema=self._json_schema, prompt_version=self.prompt_version,
                                     max_tokens=self.max_tokens)
        self.chain = self.client.chain(self.spec, prompt_template(pack, max_points=max_points, examples=examples))
        self.stats = ExtractionStats()

    def extract(self, items: list[ItemText]) -> list[ItemResult]:
        """One :class:`ItemResult` per item, in order: validated points, or ``error`` and no points."""
        ids = [it.item_id for it in items]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"item ids must be unique in one extract call (got duplicates {dup})")
        inputs = [{"key": it.item_id, "item": render_item(without_features(it, self.pack.features_left_out))}
                  for it in items]
        results = self.client.run(self.chain, inputs, concurrency=self.concurrency, progress=self.progress,
                                  desc=f"extract {self.name}")
        adjusted: Counter = Counter(self.stats.adjusted)
        dropped_all: Counter = Counter(self.stats.dropped)
        errors: Counter = Counter(self.stats.errors)
        out: list[ItemResult] = []
        n_ok = n_points = 0
        for it, res in zip(items, results):
            th = it.text_hash()
            if res.value is None:
                errors[res.reason or "unknown"] += 1
                out.append(ItemResult(item_id=it.item_id, text_hash=th, error=res.error or "unknown failure"))
                continue
            answer = cast(RawAnswer, res.value)  # validated against the request's schema by the client
            points, dropped = postprocess(answer, it, self.pack, max_points=self.max_points,
                                          unknown_type=self.unknown_type,
                                          require_grounded=self.require_grounded, adjusted=adjusted)
            dropped_all.update(dropped)
            n_ok += 1
            n_points += len(points)
            out.append(ItemResult(item_id=it.item_id, text_hash=th, points=points, dropped=dropped))
        self.stats = ExtractionStats(
            items=self.stats.items + len(items), succeeded=self.stats.succeeded + n_ok,
            failed=self.stats.failed + len(items) - n_ok, points=self.stats.points + n_points,
            dropped=dict(dropped_all), adjusted=dict(adjusted), errors=dict(errors),
            llm=self.stats.llm.merge(self.client.last_stats),
        )
        log.info("%s: %d items, %d ok, %d failed, %d points, %d calls, %d cache hits", self.name, len(items),
                 n_ok, len(items) - n_ok, n_points, self.client.last_stats.calls,
                 self.client.last_stats.cache_hits)
        return out

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> LLMExtractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
