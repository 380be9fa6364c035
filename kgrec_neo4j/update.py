"""``kgrec update``: bring the graph up to date with what changed since the last completed update, and do only that.

What changed is read from the graph (docs/updates.md):

* every load stamps the users whose interactions it changed (``User.ingest``, and new or changed edges) with its
  ingest number; ``(:UpdateState)`` keeps the number the last completed update covered;
* an item needs extracting when the hash of its text (``current_text_hash``, stored by every load) is not among its
  ``extract_hashes`` for the extractor (new item, changed text); an interaction needs classifying when it has no
  ``kind_source`` (written by another client);
* an item needs a vector when it has none of any run.

Steps, each over the changed part only:

1. **extract** the new and changed items;
2. **concepts**: project their mentions onto the vocabulary, grow new concepts from the pending ones (existing
   concepts never change);
3. **knowledge**: recompute ``HAS_KNOWLEDGE`` for exactly the extracted items (edges of removed mentions go) and the
   items that reach a concept grown in step 2; the users with a train interaction on any of them are stamped;
4. **works**: when items were extracted, the ``SAME_WORK`` links of the groups they join or leave are found again
   (:func:`~kgrec_neo4j.concepts.works.link_same_work` with ``items``: the rest of the catalogue is not read), so a
   new edition of an owned game is demoted at once;
5. **classify** the new and changed interactions (of the stamped users, and of those with an interaction no
   classification has seen, e.g. written in Browser: they are stamped first);
6. **interests** of the stamped users (offline; Graph-RAG too with ``interests="llm"``);
7. **fold in** the items without a vector into the current run (:mod:`kgrec_neo4j.model.newitems`), which bumps
   the run's version so that serving reloads it.

An update allocates its own ingest number ``N`` and covers ``(last completed, N]``. It is recorded as
``(:UpdateRun {status: running})`` with the items it extracts before any step, and each step is idempotent: after a
kill -9 the next ``kgrec update`` resumes that run (same ``N``, same items) and repeats only what is left. With
nothing new, it says so and writes nothing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from .core.config import Settings
from .core.db import Database, batched
from .core.resources import cypher
from .core.words import plural

log = logging.getLogger(__name__)

#: items per transaction of the knowledge step's user stamps
STAMP_CHUNK = 2000


class StepReport(BaseModel):
    step: str
    seconds: float
    summary: str
    #: done by the update before it was interrupted (a resumed update does not repeat it)
    before_resume: bool = False


class UpdateReport(BaseModel):
    """What one ``kgrec update`` did (``status``: ``nothing`` new, or ``complete``)."""

    id: str | None = None
    status: str = "nothing"
    resumed: bool = False
    previous: int = 0
    ingest: int = 0
    users_changed: int = 0
    items_extracted: int = 0
    items_failed: int = 0
    failed_items: list[dict[str, str]] = Field(default_factory=list, description="the first items whose extraction "
                                                                               "failed (at most 10), each "
                                                                               "{item, error}")
    mentions_projected: int = Field(0, description="mentions projected (the new ones: pending ones wait for a new "
                                                   "concept)")
    mentions_assigned: int = 0
    mentions_pending: int = Field(0, description="mentions pending after the concepts step (all of them: they wait for "
                                                 "a concept grown from them)")
    concepts_grown: int = 0
    items_knowledge: int = 0
    users_through_knowledge: int = 0
    same_work_links: int | None = Field(None, description="SAME_WORK links among the regrouped items")
    users_classified: int = 0
    texts_failed: int = Field(0, description="review texts the classifier failed on (their edges took the rating's "
                                             "kind); a later update does not classify them again")
    users_interests: int = 0
    interest_edges: int = 0
    interest_edges_written: int = Field(0, description="interest edges created, changed or removed")
    interest_users_failed: list[str] = Field(default_factory=list, description="users whose Graph-RAG request "
                                                                               "failed (interests=llm); they keep "
                                                                               "their progress")
    items_folded: int = 0
    items_new: int = 0
    fold_kept: int = Field(0, description="items folded in before and not again: no user of theirs changed and they "
                                          "were not extracted again")
    items_linked: int = Field(0, description="folded-in items whose item links borrowed from their neighbours "
                                             "were written by this update")
    borrowed_links: int = Field(0, description="borrowed item links written by this update")
    borrowed_removed: int = Field(0, description="borrowed item links removed by this update (replaced, or gone with "
                                                 "no replacement)")
    borrow_unchanged: int = Field(0, description="folded-in items whose neighbours, and so borrowed links, "
                                                 "were as before (not rewritten)")
    borrow_none: int = Field(0, description="folded-in items without borrowed links: no trained item near them (no "
                                            "text, no knowledge on a concept of the run) or none to borrow. "
                                            "items_linked + borrow_unchanged + borrow_none = items_folded + fold_kept, "
                                            "every item folded into the run (with an item graph)")
    run: str | None = None
    run_version: int | None = None
    fold_skipped: str | None = None
    fold_norm_scale: float | None = Field(None, description="the factor the vectors of the items folded in for the "
                                                            "first time were scaled by, to the median length of the "
                                                            "run's trained ones (items folded in before keep theirs)")
    later_loads: int = Field(0, description="loads that arrived during the update: run it again")
    items_failed_waiting: int = Field(0, description="with nothing new: items whose extraction of their current text "
                                                     "failed, waiting for an update with other work or --retry-failed")
    steps: list[StepReport] = Field(default_factory=list)
    seconds: float = 0.0


def _items_to_extract(db: Database, name: str) -> tuple[list[str], list[str]]:
    """Items whose current text the extractor ``name`` has not done: ``(all of them, those never tried)``. Read from
    the stored text hashes (items without one are hashed once and stored first); no item text is read."""
    from .extract.run import store_text_hashes

    store_text_hashes(db)
    rows = db.query(cypher("update/items_to_extract"), extractor=name)
    return [r["id"] for r in rows], [r["id"] for r in rows if not r["failed"]]


def _count_changed_users(db: Database, previous: int, ingest: int, *, unseen: bool = False) -> int:
    """The users with new or changed interactions since the interests covered ``previous``: those loads stamped in
    ``(previous, ingest - 1]`` (an update's own number ``ingest`` stamps the users it reaches through changed
    knowledge), and with ``unseen`` those with an interaction no classification has seen (posted to `kgrec serve
    --writes`, written in Browser: no load stamped them)."""
    return int(db.value(cypher("update/count_changed_users"), previous=previous, ingest=ingest - 1, unseen=unseen))


def _has_work(db: Database, name: str, state: dict[str, Any], *, retry_failed: bool = False) -> tuple[bool, int]:
    """Whether an update with the extractor ``name`` has anything to do, read without writing anything: an update
    to resume, items whose text ``name`` has not done (or without a stored text hash; with ``retry_failed`` those
    whose extraction of it failed too), or anything of ``update/pending_work``. With it, the items whose extraction
    of their text failed (counted when the items were read: when nothing else was work)."""
    if state["running"] is not None:
        return True, 0
    pending = db.query(cypher("update/pending_work"), classified=int(state["classified_upto"]),
                       interests=int(state["interests_upto"]))[0]
    if any(pending.values()):
        return True, 0
    rows = db.query(cypher("update/items_to_extract"), extractor=name)
    failed = sum(1 for r in rows if r["failed"])
    return (len(rows) > failed or (retry_failed and failed > 0)), failed


def run_update(db: Database, settings: Settings, *, extractor: str = "auto", classifier: str = "lexicon",
               interests: str = "offline", progress: bool = False, say: Callable[[str], None] = log.info,
               lease: Callable[[], object] | None = None, retry_failed: bool = False) -> UpdateReport:
    """Bring the graph up to date (see the module docstring) and return what was done.

    Args:
        extractor: ``auto`` (the LLM one when an endpoint is configured), ``offline`` or ``llm``.
        classifier: the interaction classifier (``lexicon``, ``prototype``, ``llm`` or ``rating``).
        interests: ``offline``, or ``llm`` (Graph-RAG after the offline edges).
        progress: progress bars of the extraction.
        lease: takes the writer lease (``kgrec update``): called before the first write, and only when there is
            work, so that an update with nothing new writes nothing at all. The work is found again under the lease.
        retry_failed: items whose extraction of their current text failed are work by themselves (by default they
            are extracted again only by an update that has other work).
    """
    from .core.lease import holder
    from .core.schema import check_pack, load_pack
    from .extract.run import check_extractor, extractor_name, marked_name

    t_all = time.perf_counter()
    name = extractor_name(settings, extractor)
    check_extractor(settings, name)  # before anything is recorded: which items need extracting depends on it
    done_as = marked_name(settings, name)  # (the LLM extractor marks an item done under its model's name)
    from .users.interests.scope import check_for_serving, reads_every_split, stored_scopes

    check_for_serving(db, ("offline",))  # before any step: the interest step could not go on with it
    pack = load_pack(settings.type_pack)
    check_pack(db, pack)  # the update extracts with it: another pack's types would be refused half-way
    if lease is not None:
        state = db.query(cypher("update/state"))[0]
        # another writer at work (a load) may be about to give the update work: wait for it under the lease as before
        work, failed = _has_work(db, done_as, state, retry_failed=retry_failed)
        if not work and holder(db) is None:
            return UpdateReport(previous=int(state["updated_upto"]), ingest=int(state["ingest"]),
                                items_failed_waiting=failed, seconds=round(time.perf_counter() - t_all, 3))
        lease()
    state = db.query(cypher("update/state"))[0]
    previous = int(state["updated_upto"])
    seen_classified, seen_interests = int(state["classified_upto"]), int(state["interests_upto"])
    running = state["running"]
    rep = UpdateReport(previous=previous)
    todo, fresh = _items_to_extract(db, done_as)
    if retry_failed:
        fresh = todo
    unseen: bool | None = None  # whether some interaction was never classified (None: not read yet)
    if running is None:
        pending = db.query(cypher("update/pending_work"), classified=seen_classified, interests=seen_interests)[0]
        unseen = bool(pending["unseen"])
        if not fresh and not any(pending.values()):
            rep.ingest, rep.items_failed_waiting = int(state["ingest"]), len(todo)
            rep.seconds = round(time.perf_counter() - t_all, 3)
            return rep
        ingest = int(db.execute(cypher("load/next_ingest"))[0]["ingest"])
        rep.id = f"update-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
        # counted before any step: the knowledge and classify steps stamp some of these users again with `ingest`
        rep.users_changed = _count_changed_users(db, seen_interests, ingest, unseen=unseen)
        started = db.execute(cypher("update/run_start"), id=rep.id, ingest=ingest, previous=previous,
                             items=todo, users_changed=rep.users_changed)[0]["started"]
        items = todo
        done_steps: list[str] = []
    else:
        done_steps = list(running["steps"] or [])
        if running.get("report"):  # what the steps done before the interruption did (they are not repeated)
            rep = UpdateReport.model_validate_json(running["report"])
            rep.steps = [s for s in rep.steps if s.step in done_steps and s.step != "fold-in"]
            for s in rep.steps:
                s.before_resume = True
        rep.id, rep.resumed = running["id"], True
        ingest, started = int(running["ingest"]), running["started"]
        if running.get("users_changed") is not None:  # the count the run took at its start
            rep.users_changed = int(running["users_changed"])
        elif not running.get("report"):  # (a run started before the count was kept, cut before any step was done)
            rep.users_changed = _count_changed_users(db, seen_interests, ingest)
        items = sorted(set(running["items"] or []) | set(todo))
        say(f"resuming update {rep.id} (steps done: {', '.join(done_steps) or 'none'})")
    rep.status, rep.ingest, rep.previous = "running", ingest, previous
    from .model.writeback import finish_cleanup

    cleaned = finish_cleanup(db)  # a `kgrec train` stopped after its run became current left the others' data
    if cleaned:
        say(f"cleared the data of earlier runs that run {cleaned} left when its `kgrec train` was stopped")

    def step(label: str, fn: Callable[[], str]) -> None:
        say(f"{label} ...")
        t = time.perf_counter()
        summary = fn()
        if rep.resumed and not any(not s.before_resume for s in rep.steps):  # the step the interruption cut
            summary += " (resumed: anything it did before the interruption is not counted)"
        rep.steps.append(StepReport(step=label, seconds=round(time.perf_counter() - t, 2), summary=summary))
        db.execute(cypher("update/run_step"), id=rep.id, step=label,
                   summary=json.dumps({"step": label, "summary": summary}),
                   report=rep.model_dump_json(exclude={"seconds"}))
        say(f"    {summary} ({rep.steps[-1].seconds:.1f}s)")

    user_lists: dict[tuple[str, int], list[str]] = {}

    def stamped_users(query: str, previous: int) -> list[str]:
        # the classification and the interests usually ask for the same list (nothing between them stamps users)
        if (query, previous) not in user_lists:
            user_lists[query, previous] = [r["id"] for r in db.query(cypher(query), previous=previous, ingest=ingest)]
        return user_lists[query, previous]

    # 1. extract ------------------------------------------------------------------------------------------------
    def extract() -> str:
        if not items:
            return "no new or changed items"
        from .extract.run import build_extractor, close_extractor, extract_items

        ex = build_extractor(settings, name, pack=pack)
        try:
            r = extract_items(db, ex, item_ids=items, pack=pack, progress=progress, run=f"{name}-{rep.id}",
                              knowledge=False)
        finally:
            close_extractor(ex)
        rep.items_extracted, rep.items_failed = r.items_done + r.items_skipped, r.items_failed
        rep.failed_items = r.failed_items
        return (f"{plural(r.items_done, 'item')} extracted ({name}), {r.items_skipped} already done, "
                f"{r.items_failed} failed; {plural(r.points, 'knowledge point')}, "
                f"{plural(r.mentions_created, 'new mention')}")

    # 2. concepts -----------------------------------------------------------------------------------------------
    def concepts() -> str:
        from .concepts.grow import grow_vocabulary
        from .concepts.project import project_mentions
        from .core.embed import get_embedder

        # a new concept needs new support: a pending mention that is new, or one that an extracted item mentions (it
        # may now come from enough items); the pending mentions of other types were clustered when they came
        grow = set(db.value(cypher("update/pending_mention_types"), ids=items)) if items else set()
        pr = None
        if db.value(cypher("update/unprojected_mentions")):
            # only the mentions never projected: a pending one can only take a concept that is new, and growing
            # projects the pending ones of the types it grows again
            pr = project_mentions(db, get_embedder(settings), pack, min_confidence=settings.min_confidence,
                                  retry_pending=False, stale_knowledge=False)
            rep.mentions_projected = pr.mentions
            grow.update(t for t, st in pr.per_type.items() if st["pending"])
        if pr is None and not grow:
            return "no new mention and no pending one of the extracted items"
        gr = None
        if grow:
            gr = grow_vocabulary(db, get_embedder(settings), pack, types=sorted(grow),
                                 min_confidence=settings.min_confidence, stale_knowledge=False)
        again = gr.projection if gr is not None else None
        rep.mentions_assigned = (pr.assigned if pr else 0) + (again.assigned if again else 0)
        rep.mentions_pending = int(db.value(cypher("update/pending_mentions")))
        rep.concepts_grown = sum(t.new_concepts for t in gr.types) if gr is not None else 0
        out = (f"{plural(pr.mentions, 'new mention')} projected: {pr.assigned} assigned, {pr.pending} pending; "
               if pr else "no new mention; ") + (f"{plural(rep.concepts_grown, 'concept')} grown from the pending "
                                                 f"mentions of {plural(len(grow), 'type')}")
        if again is not None:
            out += f", then {again.assigned} of the {again.mentions} still pending assigned to them"
        return out

    # 3. knowledge ----------------------------------------------------------------------------------------------
    def knowledge() -> str:
        from .concepts.store import recompute_item_knowledge

        grown = [r["id"] for r in db.query(cypher("update/grown_items"), started=started)]
        changed = sorted(set(items) | set(grown))
        rep.items_knowledge = recompute_item_knowledge(db, sorted(items), min_confidence=settings.min_confidence)
        reached: set[str] = set()  # (a user of items in two chunks counted once: the sum of the chunks' counts was not)
        every_split = reads_every_split(stored_scopes(db))  # (interests for serving read valid and test too)
        for k in range(0, len(changed), STAMP_CHUNK):
            reached.update(db.execute(cypher("update/stamp_item_users"), ids=changed[k:k + STAMP_CHUNK],
                                      ingest=ingest, every_split=every_split)[0]["ids"])
        rep.users_through_knowledge = users = len(reached)
        return (f"HAS_KNOWLEDGE recomputed for {plural(len(items), 'extracted item')}; {plural(len(grown), 'item')} "
                f"{'reaches' if len(grown) == 1 else 'reach'} a grown concept; {plural(users, 'user')} with "
                f"{'an' if every_split else 'a train'} interaction on a changed item")

    # 4. works ---------------------------------------------------------------------------------------------------
    def works() -> str:
        if not items:
            return "no new or changed items"
        from .concepts.works import link_same_work

        w = link_same_work(db, pack, settings=settings, items=items)
        rep.same_work_links = w.edges
        return (f"{plural(w.items, 'item')} regrouped: {plural(w.edges, 'SAME_WORK link')} among them "
                f"({w.removed} stale removed)")

    # 5. classify -----------------------------------------------------------------------------------------------
    def classify() -> str:
        from .users.interactions import classify_interactions, make_classifier

        # the stamped users, and those with an edge no classification has seen when the counts at the start said
        # there is one (an edge another client writes after that waits for the next update: it still has no
        # kind_source then)
        query = "update/changed_users" if unseen is False else "update/unclassified_users"
        users = stamped_users(query, seen_classified)
        rep.users_classified = len(users)
        if not users:
            return "no new or changed interactions"
        # stamped first, so that their interests follow (a resume too): users with an edge no classification had
        # seen, and users whose interests were computed before this classification (`kgrec interests extract` run
        # between a load and the update: the classification changes the edges those interests read)
        for chunk in batched(users, 10_000):
            db.execute(cypher("update/stamp_users"), ids=chunk, ingest=ingest, previous=seen_interests)
        clf = make_classifier(classifier, settings, progress=False)
        try:
            r = classify_interactions(db, clf, users=users, since=seen_classified, unseen=unseen is not False)
        finally:
            if clf is not None and hasattr(clf, "close"):
                clf.close()
        rep.texts_failed = r.text_failed
        return (f"{plural(r.edges, 'new or changed interaction')} classified with {r.classifier} (of "
                f"{plural(len(users), 'user')} looked at)"
                + (f" ({r.text_failed} review texts failed: decided by the rating)" if r.text_failed else ""))

    # 6. interests ----------------------------------------------------------------------------------------------
    def user_interests() -> str:
        from .users.interests.offline import OfflineParams, extract_offline

        users = stamped_users("update/changed_users", seen_interests)
        rep.users_interests = len(users)
        if not users:
            return "no user to update"
        off = extract_offline(db, params=OfflineParams(min_confidence=settings.min_confidence), users=users)
        rep.interest_edges = off.edges
        rep.interest_edges_written = off.created + off.changed + off.deleted
        out = (f"offline interests of {plural(off.users, 'user')}: {plural(off.edges, 'edge')} ({off.created} new, "
               f"{off.changed} changed, {off.deleted} removed, the rest as they were)")
        if interests == "llm":
            from .users.interests.graphrag import GraphRAGInterestExtractor

            with GraphRAGInterestExtractor(db, settings, pack, progress=progress) as ex:
                g = ex.run(users)
            rep.interest_users_failed = g.failed_users
            out += (f"; graph-rag: {g.requests} requests" + (f" ({g.failed_requests} failed)" if g.failed_requests
                                                               else "") + f", {g.updates} updates, edges now {g.edges}")
        return out

    # 7. fold in ------------------------------------------------------------------------------------------------
    def fold() -> str:
        from .model.newitems import Changed, fold_in_new_items

        f = fold_in_new_items(db, borrow_neighbours=settings.borrow_neighbours,
                              changed=Changed(seen_interests, ingest, tuple(items)))
        rep.run, rep.run_version, rep.fold_skipped = f.run, f.version, f.skipped
        rep.fold_norm_scale = f.norm_scale
        rep.items_folded, rep.items_new, rep.fold_kept = f.items, f.new_items, f.kept
        rep.items_linked, rep.borrowed_links, rep.borrowed_removed = f.items_linked, f.borrowed_links, f.borrowed_removed
        rep.borrow_unchanged, rep.borrow_none = f.borrow_unchanged, f.borrow_none
        if f.skipped:
            return f"no item folded in: {f.skipped}"
        borrowed = rep.items_linked + rep.borrow_unchanged + rep.borrow_none
        # (the borrowing covers every item folded into the run, those kept as they were too: said apart, with its total)
        return (f"{plural(f.items, 'item')} folded into run {f.run} ({f.new_items} new; {f.with_knowledge} with "
                f"knowledge, "
                f"{f.with_interactions} with interactions, {f.without_anything} with neither; "
                + (f"vectors of the items folded in for the first time scaled by {f.norm_scale:.3g} to the trained "
                   f"items' median length; " if f.norm_scale is not None else "")
                + f"{f.scale_kept} folded in before keeping their factor); {f.kept} folded in before kept as they "
                  f"were (nothing they are folded in from changed); "
                + (f"item links borrowed from their nearest trained items, over the {plural(borrowed, 'item')} folded "
                   f"into the run: {rep.items_linked} got theirs, "
                   f"{rep.borrow_unchanged} kept theirs (their neighbours were as before), {rep.borrow_none} have "
                   f"none (no trained item near them by text or knowledge, or nothing to borrow); "
                   f"{plural(rep.borrowed_links, 'link')} written, {rep.borrowed_removed} removed (links between "
                   f"new items included, written where they changed); "
                   if borrowed else "no item links borrowed; ")
                + (f"version {f.version}" if f.version is not None else "nothing written, the run's version unchanged"))

    # The new items' item links are borrowed in the fold-in step, after the others: in a thread alongside the steps
    # (until 2026-12-02) the two halves contended for the server's two cores, with a third more CPU for the same
    # update (docs/updates.md).
    for label, fn in (("extract", extract), ("concepts", concepts), ("knowledge", knowledge), ("works", works),
                      ("classify", classify), ("interests", user_interests), ("fold-in", fold)):
        if label not in done_steps or label == "fold-in":  # (fold-in is repeated: it is cheap and idempotent)
            step(label, fn)
    rep.status = "complete"
    rep.seconds = round(time.perf_counter() - t_all, 3)
    rep.later_loads = max(0, int(db.query(cypher("update/state"))[0]["ingest"]) - ingest)
    db.execute(cypher("update/run_finish"), id=rep.id, ingest=ingest,
               summary=json.dumps(rep.model_dump(exclude={"steps"}), default=str))
    log.info("update %s: %s", rep.id, rep.model_dump(exclude={"steps"}))
    return rep
