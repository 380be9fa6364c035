"""The whole pipeline on the embedded defaults, one stage after another (``kgrec demo``).

Each stage is the same library function the stage's own command calls; the demo only chains them and
times them. With an LLM endpoint configured (``KGREC_LLM_BASE_URL``) the item extractor and the
interaction classifier use it; otherwise they run offline.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from .core.config import DEFAULT_PACK, Settings
from .core.db import Database
from .core.errors import InputError
from .core.resources import cypher
from .core.texthash import TEXT_FIELDS
from .core.words import plural
from .extract.base import ItemText

if TYPE_CHECKING:  # pragma: no cover
    from .load import LoadReport, ReloadLoss

log = logging.getLogger(__name__)

BASELINES = ["pop", "itemknn", "ease", "mf", "lightgcn", "ours"]


class StageTime(BaseModel):
    stage: str
    seconds: float
    summary: str


class DemoReport(BaseModel):
    dataset: str
    users: int
    stages: list[StageTime] = Field(default_factory=list)
    evaluation_markdown: str = ""
    evaluation_dir: str = ""
    recommendations: list[dict[str, Any]] = Field(default_factory=list)
    report_page: str = ""
    seconds: float = 0.0


def report_path(out_dir: Path, user_id: str) -> Path:
    """``<out_dir>/report-<user>.html``, the user id made a plain file name: any character outside ``A-Za-z0-9._-``
    becomes ``_`` and a changed (or overlong) name gets a hash of the id, so ``../`` or ``/`` in an id (any string
    is a valid id in the generic format) can never place the file outside ``out_dir``, and two ids never share a
    file."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", user_id).strip("._")[:80]
    if safe != user_id:
        safe = f"{safe or 'user'}-{hashlib.sha256(user_id.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
    page = out_dir / f"report-{safe}.html"
    if page.resolve().parent != out_dir.resolve():  # pragma: no cover - guaranteed by the name above
        raise ValueError(f"report file {page} would leave {out_dir}")
    return page


def reload_loss(loss: ReloadLoss) -> str:
    """What the demo's load would remove of the stored dataset, as a sentence."""
    return (f"dataset {loss.dataset!r} is stored with {loss.stored_users:,} users ({loss.stored_interactions:,} "
            f"interactions, {loss.stored_items:,} items); loading the demo's sample of {loss.users:,} users would "
            f"replace it and remove {loss.users_removed:,} users, {loss.interactions_removed:,} interactions and "
            f"{loss.items_removed:,} items, with everything derived from them (knowledge, interests, model vectors)")


def reload_fixes(loss: ReloadLoss) -> str:
    """The ways out of a refused reload: keep the stored users, start over, or agree."""
    # (--users N keeps what is stored only when it is the seeded sample of N users: a whole load, a k-core or another
    # seed is not, and the same question would come again)
    keep = f"--users {loss.stored_users} to run on the stored users, " if loss.stored_sample else ""
    return (f"pass {keep}--fresh to empty the database and start over with {loss.users:,} users, or --yes to "
            f"replace the dataset with them")


def run_demo(
    db: Database,
    settings: Settings,
    *,
    data: Path,
    users: int = 2000,
    out_dir: Path,
    models: list[str] | None = None,
    epochs: int | None = None,
    show_users: int = 3,
    say: Callable[[str], None] = log.info,
    confirm_reload: Callable[[ReloadLoss], bool] | None = None,
) -> DemoReport:
    """Run load → extract → concepts → interactions → interests → train/evaluate → recommend/explain → report.

    The dataset may be stored already (an earlier demo, ``kgrec load``): the load then replaces it with the
    demo's sample, and when that would remove anything stored (a smaller ``users`` than before, another sample)
    ``confirm_reload`` is asked first; without it, or when it says no, nothing is written.

    Raises:
        InputError: ``out_dir`` cannot be a folder (it is a file, or lies under one; checked before anything else);
            the load would remove stored rows and was not confirmed (nothing written).
    """
    from .concepts.build import build_vocabulary
    from .concepts.grow import grow_vocabulary
    from .concepts.project import project_mentions
    from .concepts.works import link_same_work
    from .core import schema
    from .core.embed import get_embedder
    from .core.outpath import check_out_path
    from .extract.run import build_extractor, close_extractor, extract_items
    from .load import load
    from .model.pipeline import run_evaluation, run_training
    from .serve.recommend import recommend_users
    from .serve.report import write_report
    from .users.interactions import classify_interactions, make_classifier
    from .users.interests.offline import extract_offline

    t_all = time.perf_counter()
    check_out_path(out_dir, folder=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    pack = schema.load_pack(settings.type_pack)
    rep = DemoReport(dataset=data.name, users=users)

    def stage(name: str, fn: Callable[[], Any], summary: Callable[[Any], str]) -> Any:
        say(f"[{len(rep.stages) + 1}] {name} ...")
        t = time.perf_counter()
        result = fn()
        st = StageTime(stage=name, seconds=round(time.perf_counter() - t, 1), summary=summary(result))
        rep.stages.append(st)
        say(f"    {st.summary} ({st.seconds:.1f}s)")
        return result

    stage("schema", lambda: schema.apply(db, pack, dim=settings.embedding_dim),
          lambda r: f"{len(r['types'])} knowledge types of pack {pack.name}")

    def may_remove(loss: ReloadLoss) -> bool:
        if confirm_reload is not None and confirm_reload(loss):
            return True
        raise InputError(f"{reload_loss(loss) if confirm_reload is None else 'not replaced'}; nothing was written: "
                         f"{reload_fixes(loss)}", source=str(data))

    def pack_fits(items: list[dict[str, Any]]) -> None:
        # a first extraction checks the catalogue against a default pack; the demo asks before its load writes (a
        # film catalogue loaded under the video-game types was refused only at extraction, after the load)
        if not db.value(cypher("extract/any_extracted")):
            texts = [ItemText(item_id=it["id"], **{f: it[f] for f in TEXT_FIELDS if it.get(f) is not None})
                     .catalogue_text() for it in items]
            schema.check_pack_fits(pack, texts, chosen=settings.type_pack_chosen or pack.name != DEFAULT_PACK,
                                   demo=True)

    def loaded(r: LoadReport) -> str:
        if r.mode == "reload" and not (r.ingest or r.interactions_removed or r.items_removed):  # (a rerun)
            return (f"dataset {r.dataset} already stored as these files have it ({r.items_read} items, "
                    f"{r.interactions_read} interactions read); nothing written")
        return (f"{r.users_written} users, {r.items_written} items, {r.interactions_written} interactions "
                f"(train {r.splits.get('train', 0)}, valid {r.splits.get('valid', 0)}, test {r.splits.get('test', 0)})"
                + (f"; removed {r.users_removed} users, {r.interactions_removed} interactions, {r.items_removed} "
                   f"items of the stored dataset" if r.mode == "reload" and (r.users_removed or r.items_removed
                                                                              or r.interactions_removed) else ""))

    stage("load", lambda: load(db, [data], max_users=users, seed=settings.seed, batch_size=settings.batch_size,
                               confirm_removal=may_remove, check_items=pack_fits), loaded)
    extractor_name = "llm" if settings.has_llm else "offline"
    extractor = build_extractor(settings, extractor_name, pack=pack)
    try:
        stage(f"extract ({extractor_name})", lambda: extract_items(db, extractor, progress=False, pack=pack),
              lambda r: f"{r.items_done} items done, {r.items_skipped} skipped, {r.items_failed} failed")
    finally:
        close_extractor(extractor)
    embedder = get_embedder(settings)
    stage("concepts build", lambda: build_vocabulary(db, embedder, pack, fraction=0.25, seed=settings.seed),
          lambda r: f"{sum(t.concepts for t in r.types)} concepts over {len(r.types)} types")
    stage("concepts project", lambda: project_mentions(db, embedder, pack),
          lambda r: f"{r.assigned} mentions assigned, {r.pending} pending")
    stage("concepts grow", lambda: grow_vocabulary(db, embedder, pack),
          lambda r: f"{sum(t.new_concepts for t in r.types)} new concepts")
    stage("concepts grow (the rest)", lambda: grow_vocabulary(db, embedder, pack, min_items=1),
          lambda r: f"{sum(t.new_concepts for t in r.types)} concepts of one item each; "
                    f"{plural(r.families.edges if r.families else 0, 'family relation')}")
    stage("same work", lambda: link_same_work(db, pack, settings=settings),
          lambda r: f"{plural(r.edges, 'SAME_WORK link')} between {plural(r.items_with_work, 'item')} with a work name"
          if r.reads_titles
          else f"none: pack {pack.name} reads no work name from a title (nothing to link)")
    classifier = make_classifier("llm" if settings.has_llm else "lexicon", settings)
    try:
        stage("interactions classify", lambda: classify_interactions(db, classifier),
              lambda r: ", ".join(f"{k}: {v}" for k, v in sorted(r.kinds.items())))
    finally:
        if classifier is not None and hasattr(classifier, "close"):
            classifier.close()
    # (the demo evaluates its run: its interests read the train split, whatever an earlier run of it stored)
    stage("interests (offline)", lambda: extract_offline(db, scope="train"),
          lambda r: f"{r.users} users, {r.edges} interest edges")
    type_names = pack.names
    models = models or BASELINES
    ev = stage("evaluate", lambda: run_evaluation(db, type_names=type_names, models=models, out_dir=out_dir / "evaluation",
                                                 ablations=False, epochs=epochs, seed=settings.seed),
               lambda r: f"{sum(row.protocol == 'train-only' and not row.model.startswith('ours/') for row in r.rows)} "
                         f"models on the same split")  # (the history protocol's rows are the same models again)
    rep.evaluation_markdown = ev.markdown
    rep.evaluation_dir = str(out_dir / "evaluation")
    stage("train + write-back (ours)", lambda: run_training(db, type_names=type_names, model="ours", epochs=epochs,
                                                            seed=settings.seed),
          lambda r: f"run {r.run}: embeddings of {(r.writeback or {}).get('users', 0)} users and "
                    f"{(r.writeback or {}).get('items', 0)} items, {(r.writeback or {}).get('item_links', 0)} item "
                    f"links written back")
    sample = [r["id"] for r in db.query(
        "MATCH (u:User)-[e:INTERACTED {split: 'train'}]->() WITH u, count(e) AS n WHERE n >= 5 "
        "MATCH (u)-[:INTERESTED_IN]->() WITH u, n, count(*) AS k RETURN u.id AS id ORDER BY k DESC, id LIMIT $n",
        n=show_users)]
    recs = stage("recommend + explain", lambda: recommend_users(db, sample, k=10, explain=True, store=True),
                 lambda r: plural(len(r), "user"))
    for ur in recs:
        rep.recommendations.append(ur.model_dump())
    if sample:
        page = report_path(out_dir, sample[0])
        stage("report page", lambda: write_report(db, sample[0], page, store=True), lambda r: str(page))
        rep.report_page = str(page)
    rep.seconds = round(time.perf_counter() - t_all, 1)
    return rep
