"""The stage: classify every ``INTERACTED`` edge of the given users and store kind, sign and confidence; and
the agreement of a classifier with the star rating."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from ...core.config import stored_error
from ...core.db import Database
from ...core.resources import cypher
from ...load.ingest import current_ingest, mark_covered
from .classifiers import Review, TextClassifier
from .decide import decide
from .kinds import TEXT_LABELS, KindScheme

log = logging.getLogger(__name__)


class ClassifyReport(BaseModel):
    classifier: str
    edges: int = 0
    implicit: int = 0
    rating_only: int = 0
    with_text: int = 0
    text_failed: int = Field(0, description="review texts the classifier failed on (each keeps its reason in "
                                            "INTERACTED.text_error)")
    failed: list[dict[str, str]] = Field(default_factory=list, description="the first of them (at most 10), each "
                                                                          "``{user, seq, error}``")
    agree: int = 0
    disagree: int = 0
    kinds: dict[str, int] = Field(default_factory=dict)
    sources: dict[str, int] = Field(default_factory=dict)
    text_agreement: float | None = Field(None, description="share of rated texts whose label equals the rating's")
    seconds: float = 0.0


def check_values(db: Database, *, users: list[str] | None, edges: list[str] | None) -> None:
    """Refuse, before anything is written, to classify edges whose values no stage can read (a ``rating`` that is a
    string, written by hand: the classification stopped on it with a Cypher type error, and every ``kgrec update``
    after it resumed into the same error), naming each edge and the fix."""
    bad = db.query(cypher("interactions/bad_values"), users=users, edges=edges)
    if not bad:
        return
    from ...core.errors import InputError

    named = "; ".join(f"user {r['user']!r} -> item {r['item']!r}: {r['property']} = {r['value']!r} "
                      f"({str(r['type']).replace(' NOT NULL', '').lower()})" for r in bad)
    b = bad[0]
    fix = ("toInteger(e.seq)" if b["property"] == "seq" else f"toFloat(e.{b['property']})")
    raise InputError(f"INTERACTED edges with a value that is not a number: {named}"
                     f"{' (and maybe more)' if len(bad) == 5 else ''}. Give each a number, or remove the property, e.g. "
                     f"MATCH (:User {{id: '{b['user']}'}})-[e:INTERACTED]->(:Item {{id: '{b['item']}'}}) "
                     f"SET e.{b['property']} = {fix}; then run the command again")


def classify_interactions(
    db: Database,
    classifier: TextClassifier | None,
    *,
    scheme: KindScheme | None = None,
    prefer: Literal["rating", "text"] = "rating",
    implicit_confidence: float = 0.5,
    users: list[str] | None = None,
    since: int | None = None,
    unseen: bool = True,
    batch_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> ClassifyReport:
    """Give every ``INTERACTED`` edge (of ``users``, default all) a kind, sign, kind_source and confidence.

    With ``since`` (an ingest number) only the edges no classification has seen (no ``kind_source``) or that a
    load stamped after ``since`` are classified (``kgrec update``: a decision depends on the edge alone, so the
    others keep theirs). ``unseen=False`` (the caller counted no edge without a ``kind_source``) reads only the
    stamped edges, from the ingest index, instead of every edge of ``users``.

    ``classifier=None`` uses the rating alone (texts are not read). Idempotent: a rerun with the same
    classifier writes the same values. ``progress(done, total)`` is called after each text batch. A run over every
    user records the ingest number it saw (:mod:`kgrec_neo4j.load.ingest`), from which ``kgrec update`` goes on.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    scheme = scheme or KindScheme()
    t0 = time.perf_counter()
    covered = current_ingest(db) if users is None and since is None else None
    rep = ClassifyReport(classifier=classifier.name if classifier else "rating")
    edges = None
    if users is not None:
        users = list(dict.fromkeys(users))  # (each user is one seek: a repeated id would repeat its edges)
    if since is not None:  # the edges this call classifies, selected once: written, read and counted by element id
        edges = [e for r in db.query(cypher("interactions/since"), users=users, since=since, unseen=unseen)
                 for e in r["edges"]]
    check_values(db, users=users, edges=edges)
    no_text = db.write(cypher("interactions/set_without_text"), users=users, edges=edges, with_text=classifier is None,
                       names=scheme.names, signs=scheme.signs, like_min=scheme.like_min_rating,
                       dislike_max=scheme.dislike_max_rating, implicit_confidence=implicit_confidence)
    log.debug("edges without text: %s", no_text)
    if classifier is not None:
        rows = db.query(cypher("interactions/texts"), users=users, edges=edges)
        total = len(rows)
        done = 0
        for k in range(0, total, batch_size):
            part = rows[k:k + batch_size]
            verdicts = classifier.classify([Review(title=r["title"], text=r["text"]) for r in part])
            errors = list(getattr(classifier, "last_errors", None) or [])
            errors += [None] * (len(part) - len(errors))
            out = []
            for r, v, err in zip(part, verdicts, errors):
                error = None
                if v is None:
                    rep.text_failed += 1
                    error = stored_error(err or "unknown failure: the classifier gave no verdict", db.settings)
                    if len(rep.failed) < 10:
                        rep.failed.append({"user": r["user"], "seq": str(r["seq"]), "error": error[:300]})
                d = decide(r["rating"], v, scheme, prefer, implicit_confidence)
                out.append({"user": r["user"], "seq": r["seq"], **d.model_dump(), "text_error": error})
            db.write_batches(cypher("interactions/set_decisions"), out, batch_size=batch_size,
                             params={"classifier": classifier.name})
            done += len(part)
            if progress:
                progress(done, total)
    for r in db.query(cypher("interactions/summary"), users=users, edges=edges):
        rep.kinds[r["kind"]] = rep.kinds.get(r["kind"], 0) + r["n"]
        rep.sources[r["source"]] = rep.sources.get(r["source"], 0) + r["n"]
        rep.edges += r["n"]
        if r["agrees"] is True:
            rep.agree += r["n"]
        elif r["agrees"] is False:
            rep.disagree += r["n"]
        if r["has_text"]:
            rep.with_text += r["n"]
        elif r["source"] == "none":
            rep.implicit += r["n"]
        else:
            rep.rating_only += r["n"]
    if rep.agree + rep.disagree:
        rep.text_agreement = round(rep.agree / (rep.agree + rep.disagree), 4)
    if covered is not None:  # every edge loaded before the start is classified (for `kgrec update`)
        mark_covered(db, "classified", covered)
    rep.seconds = round(time.perf_counter() - t0, 2)
    log.info("classified %d edges (%d with text, %d text failures) in %.1fs", rep.edges, rep.with_text,
             rep.text_failed, rep.seconds)
    return rep


class Agreement(BaseModel):
    """Accuracy and macro-F1 of text labels against rating-derived labels."""

    n: int
    accuracy: float
    macro_f1: float
    per_label_f1: dict[str, float]
    confusion: dict[str, dict[str, int]] = Field(description="true label -> predicted label -> count")
    failed: int = 0


def agreement(true: Sequence[str], pred: Sequence[str | None]) -> Agreement:
    """Compare predicted text labels with rating labels (``None`` predictions count as wrong)."""
    if len(true) != len(pred):
        raise ValueError(f"true and pred must have the same length (got {len(true)} and {len(pred)})")
    conf = {t: {p: 0 for p in (*TEXT_LABELS, "failed")} for t in TEXT_LABELS}
    for t, p in zip(true, pred):
        conf[t][p if p is not None else "failed"] += 1
    n = len(true)
    correct = sum(conf[t][t] for t in TEXT_LABELS)
    f1s = {}
    for lab in TEXT_LABELS:
        tp = conf[lab][lab]
        fp = sum(conf[t][lab] for t in TEXT_LABELS if t != lab)
        fn = sum(v for p, v in conf[lab].items() if p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[lab] = round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0
    return Agreement(n=n, accuracy=round(correct / n, 4) if n else 0.0,
                     macro_f1=round(sum(f1s.values()) / len(f1s), 4), per_label_f1=f1s, confusion=conf,
                     failed=sum(conf[t]["failed"] for t in TEXT_LABELS))
