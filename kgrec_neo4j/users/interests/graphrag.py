"""Graph-RAG interest extraction: walk each user's train interactions in order and let an LLM update the
user's interest graph from the retrieved subgraphs.

One *round* handles the next batch (``batch`` interactions) of every active user at once. It is a
LangChain chain:

1. **Retrieve** (:attr:`GraphRAGInterestExtractor.retriever`): two retrieval runnables, run in parallel, each a
   Cypher query through langchain-neo4j's ``Neo4jGraph.query`` (Cypher in ``cypher/interests/``; pass the
   ``Neo4jGraph`` of an application to share it): ``next_batch`` (the item subgraph:
   the user's next train interactions after their progress marker, each item with its concepts and
   knowledge types) and ``user_subgraph`` (the user's interest subgraph: concept, type, horizon,
   polarity, weight).
2. **Ask** (:attr:`GraphRAGInterestExtractor.chain`): per user, both subgraphs rendered as text into the
   ``ChatPromptTemplate`` of :mod:`.llm` -> ``ChatOpenAI.with_structured_output`` (JSON schema with the
   batch's item ids as the only allowed evidence; JSON-mode fallback) -> validation against
   :class:`~.llm.InterestAnswer`; all users batched with ``abatch`` by the shared
   :class:`~kgrec_neo4j.llm.LLMClient` (concurrency limit, retries, cache, accounting). The answer rules
   (:func:`~.llm.postprocess`) apply afterwards.
3. **Project**: each update's concept text goes to the concept vocabulary — first an exact mention key
   that already has a concept, else :func:`kgrec_neo4j.concepts.project.project_texts` (vector index,
   the canonicalisation's acceptance rule). A text that matches nothing becomes a pending mention for
   ``kgrec concepts grow`` (``(:User)-[:INTEREST_MENTION]->(:Mention {pending: true})``).
4. **Update** (deterministic, :func:`apply_updates`): short-term weights first decay by ``short_decay``
   per batch; then for each update the signed weight ``polarity × weight`` moves by
   ``polarity × weight_change`` and is clipped to [−1, 1]; the sign is the new polarity, the absolute
   value the new weight; an edge whose weight falls under ``drop_below`` is removed. Confidence:
   :func:`kgrec_neo4j.users.confidence.update_confidence` of ``self_report × projection similarity``.
5. **Write** per round, one transaction: the users' new edges, pending mentions and progress markers
   (``User.interests_llm_upto`` = the last seq handled).

Resume: a killed run restarts after the last written round (answers already received are in the LLM
cache, so they cost nothing). A user whose request failed keeps its marker and is left out of the later
rounds of this run (its interactions must be read in order); the reason is kept in ``User.interests_error`` (with
``interests_error_by`` and ``interests_failed_at``) until a batch of the user is written (or a run finds nothing of
the user left to read), and a rerun retries it.
``restart=True`` reads the selected users from their first interaction with no interests, and replaces a user's
earlier state of this extractor (edges, pending mentions, marker) in the transaction that writes its first new
batch: a restart whose answers never come (the endpoint down) leaves every user's earlier state whole. A user whose
first restarted request failed is marked (``User.interests_restart_pending``) and restarted by the next run, with
``restart`` or not (until 2026-12-03 the rerun without it went on from the earlier marker: the restart was never
done). With the
cache warm a restarted run rebuilds the same edges. Only train interactions are retrieved, so nothing from valid or
test can reach the edges.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

from pydantic import BaseModel, Field

from ...core.config import Settings, stored_error
from ...core.db import Database
from ...core.embed import Embedder
from ...core.errors import SchemaError
from ...core.resources import cypher
from ...core.schema import TypePack, refuse_unknown_types
from ...llm.client import LLMClient, RunStats
from ..confidence import llm_update_confidence, update_confidence
from .llm import (
    PROMPT_VERSION,
    CleanUpdate,
    InterestAnswer,
    InterestView,
    ItemView,
    answer_json_schema,
    postprocess,
    prompt_template,
    render_interests,
    render_items,
)
from .scope import MODE_OF, Scope, resolve, set_scope, stored_scopes, switching

log = logging.getLogger(__name__)

EXTRACTOR = "llm"



class GraphRAGParams(BaseModel):
    batch: int = Field(5, ge=1, description="interactions per prompt")
    max_updates: int = Field(8, ge=1)
    short_decay: float = Field(0.7, gt=0.0, le=1.0, description="short-term weights decay per batch")
    drop_below: float = Field(0.02, ge=0.0, le=1.0, description="edges under this weight are removed")
    max_evidence: int = Field(5, ge=1)
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="HAS_KNOWLEDGE / INTERACTED edges read")
    max_rounds: int | None = Field(None, ge=1, description="stop after this many batches per user")


class GraphRAGReport(BaseModel):
    users: int = 0
    rounds: int = 0
    requests: int = 0
    failed_requests: int = 0
    failed_users: list[str] = Field(default_factory=list)
    failures_by_reason: dict[str, int] = Field(default_factory=dict, description="failed users by failure reason")
    failed: list[dict[str, str]] = Field(default_factory=list, description="the first failed users (at most 10), each "
                                                                          "``{user, error}`` as kept in "
                                                                          "``User.interests_error``")
    interactions: int = 0
    updates: int = 0
    matched_exact: int = 0
    matched_projection: int = 0
    pending: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    edges: int = 0
    llm: RunStats = Field(default_factory=RunStats)
    retrieve_s: float = 0.0
    project_s: float = 0.0
    write_s: float = 0.0
    seconds: float = 0.0


class Projected(BaseModel):
    update: CleanUpdate
    concept: str | None
    similarity: float


def apply_updates(current: list[InterestView], updates: list[Projected], *, seq: int,
                  params: GraphRAGParams) -> tuple[list[dict], list[dict]]:
    """New interest state of one user after one batch.

    Returns ``(edges, pending)``: edge rows for ``write_llm_state.cypher`` and pending-mention rows.
    """
    state: dict[tuple[str, str], dict] = {}
    for x in current:
        w = x.weight * (params.short_decay if x.horizon == "short" else 1.0)
        state[(x.concept_id, x.horizon)] = {"concept": x.concept_id, "horizon": x.horizon, "signed": x.polarity * w,
                                            "confidence": x.confidence, "evidence": list(x.evidence),
                                            "updated_seq": x.updated_seq, "support": 0}
    pending = []
    for p in updates:
        u = p.update
        if p.concept is None:
            pending.append({"type": u.type, "key": u.key, "text": u.concept, "horizon": u.horizon, "seq": seq,
                            "polarity": u.polarity, "weight_change": u.weight_change, "confidence": u.confidence,
                            "evidence": u.evidence})
            continue
        k = (p.concept, u.horizon)
        old = state.get(k)
        old_signed = old["signed"] if old else 0.0
        new_signed = max(-1.0, min(1.0, old_signed + u.polarity * u.weight_change))
        pu = llm_update_confidence(u.confidence, p.similarity)
        same = old is None or old_signed == 0.0 or (old_signed > 0) == (u.polarity > 0)
        conf = update_confidence(old["confidence"] if old else None, pu, same)
        ev = list(dict.fromkeys(u.evidence + (old["evidence"] if old else [])))[:params.max_evidence]
        state[k] = {"concept": p.concept, "horizon": u.horizon, "signed": new_signed, "confidence": conf,
                    "evidence": ev, "updated_seq": seq, "support": (old["support"] if old else 0) + 1}
    edges = []
    for key in sorted(state):
        s = state[key]
        w = abs(s["signed"])
        if w < params.drop_below or w == 0.0:
            continue
        edges.append({"concept": s["concept"], "horizon": s["horizon"], "polarity": 1 if s["signed"] > 0 else -1,
                      "weight": round(w, 6), "confidence": round(s["confidence"] or 0.0, 4),
                      "evidence": s["evidence"], "updated_seq": s["updated_seq"], "support": s["support"]})
    return edges, pending


class GraphRAGInterestExtractor:
    """Maintain ``(:User)-[:INTERESTED_IN {extractor: 'llm'}]->(:Concept)`` with an LLM over retrieved subgraphs.

    Args:
        db: a :class:`kgrec_neo4j.core.db.Database` (the writes, and the reads besides retrieval).
        settings: LLM settings for the client.
        pack: the active type pack.
        embedder: the concept embedder (for projection onto the vocabulary).
        client: an :class:`LLMClient` (tests pass one on a LangChain fake chat model).
        project: ``project(rows=[{type, text}]) -> [(concept_id | None, similarity)]`` (default:
            :func:`kgrec_neo4j.concepts.project.project_texts` on ``db`` and ``embedder``).
        graph: the ``langchain_neo4j.Neo4jGraph`` retrieval queries (default: one on the database of ``db``,
            :func:`kgrec_neo4j.core.db.langchain_graph`, opened at the first retrieval and closed by
            :meth:`close`; a graph passed in is the caller's to close). It must reach the database of ``db``.

    Attributes:
        retriever: runnable ``{"users": [user], "fresh": [user]} -> {"batches": {user: (upto, [ItemView])},
            "interests": {user: [InterestView]}}`` (the two Cypher reads in parallel, through ``graph``; ``fresh``:
            restarted users read from their first interaction, with no interests).
        chain: runnable ``{"key": user, "interests": text, "items": text, "spec": AnswerSpec} -> Result``
            (prompt template, structured output, validation); run by :meth:`LLMClient.run`.
    """

    def __init__(self, db: Database, settings: Settings, pack: TypePack, *, embedder: Embedder | None = None,
                 client: LLMClient | None = None, params: GraphRAGParams | None = None,
                 project: Callable[[list[dict]], list[tuple[str | None, float]]] | None = None,
                 progress: bool = False, graph: Any = None, **client_options):
        from langchain_core.runnables import RunnableLambda, RunnableParallel

        self.db = db
        self.settings = settings
        self.pack = pack
        self.params = params or GraphRAGParams()
        self._own_client = client is None
        self._graph, self._own_graph, self._graph_lock = graph, graph is None, threading.Lock()
        self.max_tokens = 120 * self.params.max_updates + 60
        self.client = client or LLMClient(settings, max_tokens=self.max_tokens, **client_options)
        self._every_split = False  # (set by `run` from the scope)
        self._check_vocabulary = project is None  # (a projection passed in is the caller's: it may need none)
        if project is None:
            if embedder is None:
                from ...core.embed import get_embedder

                embedder = get_embedder(settings)
            from ...concepts.project import project_texts
            from ...concepts.store import vocabularies

            def project(rows: list[dict], _db: Database = db, _emb: Embedder = embedder) -> list[tuple[str | None, float]]:
                # a type of the pack without a vocabulary (nothing mentioned it at the build: check_vocabulary) has no
                # concept to match: its interests wait as pending mentions, as those that match none do
                vocab = vocabularies(_db)
                waits = {r["type"] for r in rows if r["type"] in vocab and vocab[r["type"]].acceptance is None}
                out: list[tuple[str | None, float]] = [(None, 0.0)] * len(rows)
                asked = [k for k, r in enumerate(rows) if r["type"] not in waits]
                if asked:
                    for k, hit in zip(asked, project_texts(_db, _emb, [rows[k] for k in asked], pack=pack.name),
                                      strict=True):
                        out[k] = hit
                return out
        self._project = project
        self.progress = progress
        self.retriever = RunnableParallel(batches=RunnableLambda(self._item_subgraphs, name="item subgraphs"),
                                          interests=RunnableLambda(self._interest_subgraphs,
                                                                   name="interest subgraphs"))
        self.chain = self.client.chain(None, prompt_template(pack, max_updates=self.params.max_updates))

    # -- retrieval ------------------------------------------------------------------------------
    @property
    def graph(self) -> Any:
        """The ``langchain_neo4j.Neo4jGraph`` of the retrieval (opened on first use when none was passed)."""
        with self._graph_lock:  # the two retrieval runnables start in parallel
            if self._graph is None:
                from ...core.db import langchain_graph

                self._graph = langchain_graph(self.db)
            return self._graph

    def _item_subgraphs(self, q: dict[str, list[str]]) -> dict[str, tuple[int, list[ItemView]]]:
        rows = self.graph.query(cypher("interests/next_batch"), params={
            "users": q["users"], "fresh": q["fresh"], "batch": self.params.batch,
            "min_confidence": self.params.min_confidence, "every_split": self._every_split})
        return {r["user"]: (r["upto"], [ItemView(**x) for x in r["items"]]) for r in rows}

    def _interest_subgraphs(self, q: dict[str, list[str]]) -> dict[str, list[InterestView]]:
        rows = self.graph.query(cypher("interests/user_subgraph"), params={
            "users": q["users"], "fresh": q["fresh"], "extractor": EXTRACTOR})
        return {r["user"]: [InterestView(**x) for x in r["interests"]] for r in rows}

    def retrieve(self, users: list[str], fresh: frozenset[str] | set[str] = frozenset()
                 ) -> tuple[dict[str, tuple[int, list[ItemView]]], dict[str, list[InterestView]]]:
        """``(next batches, current interests)`` of ``users`` (:attr:`retriever`); users in ``fresh`` (restarted,
        first batch not written yet) from their first interaction, with no interests."""
        out = self.retriever.invoke({"users": users, "fresh": sorted(fresh)})
        return out["batches"], out["interests"]

    def inputs(self, work: dict[str, tuple[list[InterestView], list[ItemView]]]) -> list[dict]:
        """The :attr:`chain` inputs of one round, one per user: the rendered subgraphs and the answer schema
        (evidence restricted to the batch's items)."""
        return [{"key": uid, "interests": render_interests(cur), "items": render_items(items),
                 "spec": self.client.spec(InterestAnswer, prompt_version=PROMPT_VERSION, max_tokens=self.max_tokens,
                                          json_schema=answer_json_schema(self.pack, self.params.max_updates,
                                                                         [it.item for it in items]))}
                for uid, (cur, items) in sorted(work.items())]

    # -- projection -----------------------------------------------------------------------------
    def project_updates(self, updates: list[CleanUpdate], rep: GraphRAGReport) -> list[Projected]:
        if not updates:
            return []
        keys = sorted({(u.type, u.key) for u in updates})
        exact = {(r["type"], r["key"]): (r["concept"], float(r["similarity"] or 1.0))
                 for r in self.db.query(cypher("interests/exact_concepts"), rows=[{"type": t, "key": k} for t, k in keys])}
        rest = [(t, k) for t, k in keys if (t, k) not in exact]
        text_of = {(u.type, u.key): u.concept for u in updates}
        found: dict[tuple[str, str], tuple[str | None, float]] = dict(exact)
        if rest:
            res = self._project([{"type": t, "text": text_of[(t, k)]} for t, k in rest])
            found.update({tk: (cid, float(sim)) for tk, (cid, sim) in zip(rest, res)})
        out = []
        for u in updates:
            cid, sim = found[(u.type, u.key)]
            if cid is None:
                rep.pending += 1
            elif (u.type, u.key) in exact:
                rep.matched_exact += 1
            else:
                rep.matched_projection += 1
            out.append(Projected(update=u, concept=cid, similarity=sim if cid else 0.0))
        return out

    # -- the loop -------------------------------------------------------------------------------
    def reset(self, users: list[str]) -> None:
        for k in range(0, len(users), 5000):
            self.db.write(cypher("interests/reset_llm"), users=users[k:k + 5000], extractor=EXTRACTOR)

    def restarts_pending(self, users: list[str]) -> list[str]:
        """The users of ``users`` whose restart failed before its first batch was written (they are restarted by the
        next run, with ``restart`` or not)."""
        out: list[str] = []
        for k in range(0, len(users), 5000):
            out += self.db.value(cypher("interests/restarts_pending"), users=users[k:k + 5000]) or []
        return out

    def check_vocabulary(self) -> None:
        """Refuse a run the projection would stop after its first answers: a knowledge type of the pack with mentions
        but without a concept vocabulary (no acceptance threshold: `kgrec concepts build` not run since), or no type
        with one. A type that nothing mentions gets no vocabulary from the build, and is not asked for one.

        Raises:
            SchemaError: naming the types and `kgrec concepts build`; nothing was asked or written.
        """
        from ...concepts.store import vocabularies

        vocab = vocabularies(self.db)
        built = {t for t, v in vocab.items() if v.acceptance is not None}
        # the build gives a vocabulary only to the types with mentions (cypher/concepts/mention_types): a type no
        # item mentions has none after it, and asking for one would refuse every run (its interests wait as pending
        # mentions: the projection above)
        mentioned = {r["type"] for r in self.db.query(cypher("interests/item_mention_types"))}
        missing = [t for t in self.pack.names if t not in built and (t in mentioned or not built)]
        if missing:
            raise SchemaError(
                f"no concept vocabulary for {', '.join(map(repr, missing[:4]))}{' …' if len(missing) > 4 else ''} "
                f"yet: the Graph-RAG interests project each interest the LLM names onto the concepts of its type, so "
                f"run `kgrec concepts build` first (after `kgrec extract items`; README, \"The command line\"); "
                f"nothing was asked or written")

    def run(self, users: list[str], *, restart: bool = False, scope: Scope | None = None,
            every_user: bool = False) -> GraphRAGReport:
        """Process ``users`` until their train interactions are all read (or ``max_rounds``).

        ``scope``: the interactions read, ``'train'`` (evaluation) or ``'every'`` split (serving); default: the stored
        one (:mod:`.scope`). Changing it needs ``every_user`` (``users`` are all of them) and ``restart``; it is
        recorded once no user failed.

        Raises:
            ConfigError: the database holds another type pack's types (``kgrec schema apply``), before any request.
            SchemaError: a type of the pack has no concept vocabulary (:meth:`check_vocabulary`), before any request.
            ScopeError: ``scope`` would mix two scopes (:func:`.scope.resolve`), before any request.
        """
        t_start = time.perf_counter()
        stored = str(stored_scopes(self.db)[EXTRACTOR])
        mode = None if scope is None else MODE_OF[scope]
        scope = resolve(self.db, EXTRACTOR, mode, every_user=every_user, restart=restart)
        self._every_split = scope == "every"
        if users:  # the prompt lists the pack's types: another pack's would be refused at the first write
            from ...core.schema import check_pack

            check_pack(self.db, self.pack)
        if self._check_vocabulary and users:
            self.check_vocabulary()
        if scope != stored:  # (after the checks: a refused run leaves the scope as it was)
            set_scope(self.db, EXTRACTOR, switching(scope))
            if restart:  # until each is restarted; a run interrupted half way leaves the rest to the next
                for k in range(0, len(users), 5000):
                    self.db.write(cypher("interests/mark_restart_pending"), users=users[k:k + 5000])
        rep = GraphRAGReport(users=len(users))
        # restarted users whose first batch is not written yet: their earlier state stays until it is replaced. A
        # restart whose first request failed is still to do: the next run restarts such users too
        fresh: set[str] = set(users) if restart else set(self.restarts_pending(users))
        run_id = f"llm-{int(time.time())}"
        dropped: Counter = Counter()
        active = sorted(set(users))
        failed: set[str] = set()
        reasons: Counter = Counter()
        while active and (self.params.max_rounds is None or rep.rounds < self.params.max_rounds):
            t0 = time.perf_counter()
            batches, interests = self.retrieve(active, fresh)
            rep.retrieve_s += time.perf_counter() - t0
            idle = sorted(u for u, (_, items) in batches.items() if u in fresh and not items)
            if idle:  # restarted users without train interactions: nothing to ask, their state is simply forgotten
                self.reset(idle)
                fresh.difference_update(idle)
            if rep.rounds == 0:  # users with nothing left to read keep no reason of an earlier failure to retry
                caught_up = sorted(u for u, (_, items) in batches.items() if u not in fresh and not items)
                for k in range(0, len(caught_up), 5000):
                    self.db.write(cypher("interests/clear_failed"), users=caught_up[k:k + 5000], extractor=EXTRACTOR)
            work = {u: (interests.get(u, []), items) for u, (_, items) in batches.items() if items}
            if not work:
                break
            results = self.client.run(self.chain, self.inputs(work), progress=self.progress,
                                      desc=f"interests round {rep.rounds + 1}")
            rep.llm = rep.llm.merge(self.client.last_stats)
            rep.requests += len(results)
            rows: list[dict[str, Any]] = []
            failed_rows: list[dict[str, Any]] = []
            cleaned: dict[str, list[CleanUpdate]] = {}
            for res in results:
                cur, items = work[res.key]
                if res.value is None:
                    rep.failed_requests += 1
                    failed.add(res.key)
                    reasons[res.reason or "unknown"] += 1
                    error = stored_error(res.error or res.reason, self.settings)
                    failed_rows.append({"user": res.key, "error": error, "restart": res.key in fresh})
                    if len(rep.failed) < 10:
                        rep.failed.append({"user": res.key, "error": error[:300]})
                    log.info("user %s: interest request failed (%s); left for a rerun", res.key, error)
                    continue
                answer = cast(InterestAnswer, res.value)  # validated against the request's schema by the client
                cleaned[res.key] = postprocess(answer, [it.item for it in items], self.pack,
                                               max_updates=self.params.max_updates, dropped=dropped)
            t0 = time.perf_counter()
            projected = self.project_updates([u for us in cleaned.values() for u in us], rep)
            rep.project_s += time.perf_counter() - t0
            pos = 0
            for uid in sorted(cleaned):
                ups = projected[pos:pos + len(cleaned[uid])]
                pos += len(cleaned[uid])
                cur, items = work[uid]
                last = max(it.seq for it in items)
                edges, pending = apply_updates(cur, ups, seq=last, params=self.params)
                rows.append({"user": uid, "edges": edges, "pending": pending, "upto": last})
                rep.updates += len(ups)
                rep.interactions += len(items)
            t0 = time.perf_counter()
            if rows or failed_rows:
                types = sorted({p["type"] for r in rows for p in r["pending"]})

                written = sorted(fresh & {r["user"] for r in rows})

                def work_tx(tx, rows=rows, types=types, written=written, failed_rows=failed_rows):
                    if types:
                        refuse_unknown_types(tx, types)
                    if rows:
                        tx.run(cypher("interests/write_llm_state"), rows=rows, fresh=written, extractor=EXTRACTOR,
                               run=run_id).consume()
                    if failed_rows:  # the reason, kept on the user until a batch of it is written
                        tx.run(cypher("interests/mark_failed"), rows=failed_rows, extractor=EXTRACTOR).consume()

                self.db.write_tx(work_tx)
                fresh.difference_update(written)
            rep.write_s += time.perf_counter() - t0
            rep.rounds += 1
            active = sorted(u for u in work if u not in failed and len(work[u][1]) == self.params.batch)
        rep.failed_users = sorted(failed)
        # a failed restart keeps the user's state of the old scope, as does a user not reached yet: both are pending
        if scope != stored and not failed and not self.db.value(
                "MATCH (u:User) WHERE u.interests_restart_pending = true RETURN count(u) > 0"):
            set_scope(self.db, EXTRACTOR, scope)
        rep.failures_by_reason = dict(reasons)
        rep.dropped = dict(dropped)
        rep.edges = self.db.value("UNWIND $users AS uid MATCH (:User {id: uid})-[r:INTERESTED_IN {extractor: $x}]->() "
                                  "RETURN count(r)", users=users, x=EXTRACTOR) or 0
        for f in ("retrieve_s", "project_s", "write_s"):
            setattr(rep, f, round(getattr(rep, f), 2))
        rep.seconds = round(time.perf_counter() - t_start, 2)
        log.info("graph-rag interests: %d users, %d rounds, %d requests (%d failed), %d edges in %.1fs",
                 rep.users, rep.rounds, rep.requests, rep.failed_requests, rep.edges, rep.seconds)
        return rep

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._own_graph and self._graph is not None:
            self._graph.close()
            self._graph = None

    def __enter__(self) -> GraphRAGInterestExtractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
