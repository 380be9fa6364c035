"""``kgrec status``: where the graph stands, and what ``kgrec update`` would do next, read without writing anything.

A daily user loads new data and wants to know, before running anything, what is in the graph, which run serves,
and what is left to do: items whose text no extraction has seen, interactions no classification has seen, users
whose interests follow older interactions, items without a vector of the serving run, an update cut short. The
counts answer the questions :mod:`kgrec_neo4j.update` asks with yes or no when it looks for work
(``update/pending_work``, ``update/items_to_extract``, ``update/count_changed_users``), with the same queries where
they count, so the two agree: ``kgrec update`` after a status that shows nothing to do says "nothing new".
"""

from __future__ import annotations

import socket
from typing import Any

from pydantic import BaseModel, Field

from .core.config import Settings
from .core.db import Database
from .core.errors import ModelError
from .core.resources import cypher


class Pending(BaseModel):
    """What the next ``kgrec update`` would do (zeros and no ``resume``: nothing; it would write nothing)."""

    extractor: str = Field(description="the extractor the update would use (`--extractor auto`)")
    items_to_extract: int = Field(0, description="new or changed items (text hash not done by the extractor)")
    items_failed_before: int = Field(0, description="of those, items whose extraction failed on the text they have "
                                                    "(extracted again, but no work on their own)")
    items_unhashed: int = Field(0, description="items without a stored text hash (written by another client): the "
                                               "update hashes them, then extracts those not done")
    interactions_new: int = Field(0, description="interactions loaded since the last update")
    interactions_unclassified: int = Field(0, description="interactions no classification has seen (another "
                                                          "client wrote them)")
    users_changed: int = Field(0, description="users with new or changed interactions: their interests are "
                                              "recomputed")
    mentions_unprojected: int = Field(0, description="mentions never projected onto the concepts, of a type with a "
                                                     "vocabulary (`kgrec concepts build`)")
    items_without_vector: int = Field(0, description="items without a vector of any run while a run is current: "
                                                     "folded into it")
    resume: str | None = Field(None, description="an update cut short (its id): the next one resumes it; or the "
                                                 "update at work now (`running`)")
    running: bool = Field(False, description="the update of `resume` is at work now: a `kgrec update` holds the "
                                             "writer lease (its run is `running` in the graph as a cut one's is)")

    @property
    def anything(self) -> bool:
        """Whether ``kgrec update`` has work (the failed items alone are not: it retries them with other work)."""
        return bool(self.resume or self.items_to_extract - self.items_failed_before or self.items_unhashed
                    or self.interactions_new or self.interactions_unclassified or self.users_changed
                    or self.mentions_unprojected or self.items_without_vector)


class GraphStatus(BaseModel):
    """What the graph holds, which run serves, and what is pending (:func:`graph_status`)."""

    pack: str | None = None
    pack_arg: str | None = Field(None, description="what `--pack` a command needs to run on this database when its "
                                                   "pack is not the default one (None: the default pack is the "
                                                   "database's, or it has none yet)")
    datasets: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    last_update: dict[str, Any] | None = None
    ingest: int = 0
    run: dict[str, Any] | None = None
    run_problem: str | None = Field(None, description="without a current run: why (several runs marked current; runs "
                                                      "stored, none marked current), with the fix")
    items_folded: int = Field(0, description="items folded into the current run since it was trained")
    interactions_since_run: int | None = Field(None, description="interactions loaded since the current run started "
                                                                 "training or recorded live since (None: a run that "
                                                                 "did not record its ingest number)")
    late_split_users: int = Field(0, description="users with a train interaction after one of their valid or test "
                                                 "ones (recorded live, or written without seq): evaluation refuses "
                                                 "them until `kgrec interactions split` splits their histories again")
    interests: dict[str, str] = Field(default_factory=dict, description="per interest extractor with state, which "
                                      "interactions its edges read: train, every (serving), switching:<target>")
    writer: str | None = Field(None, description="who holds the writer lease, if anyone (and when its process, on this "
                                                 "host, is gone: the next writer takes the lease over at once)")
    pending: Pending


def _no_current_run(db: Database) -> str | None:
    """Why no run is current when runs are stored (None when none is: nothing trained yet): a run's `current` flag
    removed by hand said "no run trained yet"."""
    rows = db.query(cypher("status/uncurrent_runs"))
    if not rows:
        return None
    r = rows[0]
    head = f"no run is marked current, though {r['runs']} {'is' if r['runs'] == 1 else 'are'} stored"
    if r["vectors"]:
        return (f"{head}; run {r['id']} ({r['status']}) still has its vectors: `MATCH (r:ModelRun) SET r.current = "
                f"(r.id = '{r['id']}')` makes it current again, or `kgrec train` trains one")
    return f"{head} (none with its vectors still written): `kgrec train` trains one"


def graph_status(db: Database, settings: Settings, *, extractor: str = "auto") -> GraphStatus:
    """Read the graph's state (nothing is written). ``extractor`` as ``kgrec update --extractor`` takes it: which
    extractor's work counts as done."""
    from .core.lease import holder
    from .core.schema import db_packs, load_pack, pack_arg
    from .extract.run import extractor_name, marked_name
    from .model.runs import current_run

    name = extractor_name(settings, extractor)
    g = db.query(cypher("status/graph"))[0]
    state = db.query(cypher("update/state"))[0]
    problem: str | None = None
    try:
        run = current_run(db)
    except ModelError as e:  # several runs marked current (by hand): said, not raised (status exits 0 either way)
        run, problem = None, str(e)
    if run is None and problem is None:
        problem = _no_current_run(db)
    p = db.query(cypher("status/pending"), classified=int(state["classified_upto"]), run=run.id if run else None)[0]
    todo = db.query(cypher("update/items_to_extract"), extractor=marked_name(settings, name))
    unclassified = int(p["interactions_unclassified"])
    users = int(db.value(cypher("update/count_changed_users"), previous=int(state["interests_upto"]),
                         ingest=int(state["ingest"]), unseen=unclassified > 0))
    pending = Pending(
        extractor=name, items_to_extract=len(todo), items_failed_before=sum(1 for r in todo if r["failed"]),
        items_unhashed=int(p["items_unhashed"]), interactions_new=int(p["interactions_new"]),
        interactions_unclassified=unclassified, users_changed=users,
        mentions_unprojected=int(p["mentions_unprojected"]),
        items_without_vector=int(p["items_without_vector"]),
        resume=state["running"]["id"] if state["running"] else None)
    last = db.query(cypher("status/last_update"))
    who = holder(db)
    writer = who.describe() if who else None
    gone = who is not None and who.dead_here(socket.gethostname())
    if gone:  # (killed: the lease outlives it until it expires)
        writer = f"{writer}; its process is gone, so the next writer takes it over at once"
    pending.running = bool(pending.resume and who is not None and not gone and who.owner == "kgrec update")
    from .users.interests.scope import stored_scopes

    scopes = stored_scopes(db)
    packs = db_packs(db)
    other = bool(packs) and load_pack(settings.type_pack).name not in packs  # the update would be refused
    # a command given without --pack runs with the default pack: name the database's unless it is that one (a
    # `kgrec --pack office_products status` said "run `kgrec update`", which is then refused)
    # (nor when a pack was chosen at all: KGREC_TYPE_PACK or kgrec.toml may not be there for the next command)
    named = other or (bool(packs) and (packs[0] != load_pack(Settings().type_pack).name or settings.type_pack_chosen))
    return GraphStatus(
        pack=packs[0] if packs else None, pack_arg=pack_arg(db, packs[0]) if named else None,
        datasets=list(g.pop("datasets")), counts={k: int(v) for k, v in g.items()},
        last_update=last[0] if last else None, ingest=int(state["ingest"]),
        run=run.summary() | {"version": p["run_version"], "updated": p["run_updated"]} if run else None,
        run_problem=problem,
        items_folded=int(p["items_folded"]),
        interactions_since_run=int(p["interactions_since_run"]) if run and p["run_ingest"] is not None else None,
        writer=writer, pending=pending,
        late_split_users=int(db.query(cypher("train/late_train_users"), dataset=None)[0]["users"]),
        interests={ex: str(scopes[ex]) for ex in ("offline", "llm") if scopes[f"{ex}_state"]})
