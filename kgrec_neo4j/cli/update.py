"""``kgrec update``: only what changed since the last completed update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..core.config import Settings
from ._common import (
    allow_failures_option,
    echo_json,
    end_with_failures,
    open_db,
    pass_settings,
    plural,
    silent_option,
    take_lease,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..update import UpdateReport


@click.command()
@click.option("--extractor", type=click.Choice(["auto", "llm", "offline"]), default="auto", show_default=True,
              help="Item extractor for new and changed items (auto = llm if an endpoint is configured).")
@click.option("--classifier", type=click.Choice(["lexicon", "prototype", "llm", "rating"]), default="lexicon",
              show_default=True, help="Classifier of new and changed interactions.")
@click.option("--interests", type=click.Choice(["offline", "llm"]), default="offline", show_default=True,
              help="Interests of the changed users: offline, or offline then Graph-RAG (llm).")
@click.option("--retry-failed", is_flag=True,
              help="Also extract again the items whose extraction failed (by default only an update with other work "
                   "retries them).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@allow_failures_option
@silent_option
@pass_settings
def update(settings: Settings, extractor, classifier, interests, retry_failed, as_json, allow_failures, silent):
    """Bring the graph up to date with what changed since the last completed update, and do only that.

    New or changed items are extracted, their mentions projected and grown into concepts, and their
    knowledge recomputed; new interactions are classified and the interests of the users they touch
    recomputed; new items get vectors of the current run at once, folded in from their concepts (and first
    interactions), so they are recommended and explained before any retraining. Resumable after a kill:
    run it again. With nothing new it says so and writes nothing (it takes the writer lease only once it
    has found work). `kgrec status` shows what it would do, without doing it.

    Records that failed (items whose extraction failed, review texts the LLM classifier failed on, users whose
    Graph-RAG request failed) do not stop it: every step is done, the failed items and users are named (the
    texts counted), and it exits with code 4 (0 with --allow-failures). A failed item keeps its reason in
    Item.extract_error and is extracted again by the next update with other work, or at once by
    `kgrec update --retry-failed`.

    \b
    Examples:
      kgrec load ../shared/data/amazon-videogames-2018 --append && kgrec update
      kgrec update --extractor llm --classifier llm
    """
    from ..update import run_update

    say = (lambda s: None) if as_json or silent else (lambda s: click.echo(s, err=True))
    with open_db(settings) as d:  # the writer lease is taken by run_update, once it has found work
        try:
            rep = run_update(d, settings, extractor=extractor, classifier=classifier, interests=interests,
                             progress=not (silent or as_json), say=say,
                             lease=lambda: take_lease(d, settings, "kgrec update"), retry_failed=retry_failed)
        except KeyboardInterrupt:  # click printed a bare "Aborted!"
            click.echo("\ninterrupted: the steps done are kept; run `kgrec update` again to resume where it "
                       "stopped", err=True)
            raise SystemExit(130) from None
    if as_json:
        echo_json(rep.model_dump())
        _end_with_failures(rep, allow=allow_failures)
        return
    if rep.status == "nothing":
        since = (f"the last update (ingest {rep.previous})" if rep.previous
                 else f"the graph was built (no update yet; ingest {rep.ingest})")  # (the pipeline's stages)
        click.echo(f"nothing new since {since}; nothing was written")
        if rep.items_failed_waiting:
            n = rep.items_failed_waiting
            click.echo(f"{plural(n, 'item')} whose extraction failed (reason in Item.extract_error) "
                       f"{'waits' if n == 1 else 'wait'} for an update with other work; `kgrec update --retry-failed` "
                       f"extracts {'it' if n == 1 else 'them'} again now")
        return
    before = sum(s.seconds for s in rep.steps if s.before_resume)
    click.echo(f"update {rep.id}" + (" (resumed)" if rep.resumed else "")
               + f": ingest {rep.previous} -> {rep.ingest} in {rep.seconds:.1f}s"
               + (f" (and {before:.1f}s of steps done before the interruption)" if before else ""))
    click.echo(f"items:     {rep.items_extracted} extracted ({rep.items_failed} failed), knowledge of "
               f"{rep.items_knowledge} recomputed; {rep.mentions_projected} new mentions projected, "
               f"{rep.mentions_assigned} mentions assigned, {rep.concepts_grown} concepts grown, "
               f"{rep.mentions_pending} pending")
    click.echo(f"users:     {rep.users_changed} with new or changed interactions, {rep.users_through_knowledge} "
               f"through changed knowledge; {rep.users_classified} users' interactions looked at by the classifier, "
               f"interests of {rep.users_interests} "
               f"recomputed ({rep.interest_edges} edges)")
    if rep.fold_skipped:
        click.echo(f"model:     no item folded in ({rep.fold_skipped})")
    else:
        click.echo(f"model:     {plural(rep.items_folded, 'item')} folded into run {rep.run} ({rep.items_new} new), "
                   + (f"version {rep.run_version}" if rep.run_version is not None else "its version unchanged"))
    for s in rep.steps:
        click.echo(f"  {s.step:<10} {s.seconds:7.1f}s  {s.summary}" + (" (before the interruption)" if s.before_resume
                                                                       else ""))
    if rep.later_loads:
        click.echo(f"{plural(rep.later_loads, 'load')} arrived during the update: run `kgrec update` again", err=True)
    if rep.failed_items:
        from ..core.config import redact_in

        more = rep.items_failed - len(rep.failed_items)
        click.echo("failed items (each keeps its reason in Item.extract_error): "
                   + "; ".join(f"{f['item']}: {redact_in(f['error'], settings.llm_base_url)}" for f in rep.failed_items)
                   + (f"; and {more} more" if more > 0 else ""), err=True)
    if rep.interest_users_failed:
        click.echo(f"graph-rag: {plural(len(rep.interest_users_failed), 'user')} failed and "
                   f"{'keeps' if len(rep.interest_users_failed) == 1 else 'keep'} their progress (each keeps "
                   f"its reason in User.interests_error): "
                   f"{', '.join(rep.interest_users_failed[:5])}" + (" ..." if len(rep.interest_users_failed) > 5
                                                                     else ""), err=True)
    _end_with_failures(rep, allow=allow_failures)


def _end_with_failures(rep: UpdateReport, *, allow: bool) -> None:
    """Exit code 4 when the update left records failed (0 with ``allow``), saying how each kind is retried."""
    parts = []
    if rep.items_failed:
        parts.append(f"{plural(rep.items_failed, 'item')} failed extraction (each keeps its reason in "
                     f"Item.extract_error; `kgrec update --retry-failed` extracts them again, as does the next update "
                     f"with other work)")
    if rep.texts_failed:
        parts.append(f"{plural(rep.texts_failed, 'review text')} could not be classified (their edges took the "
                     f"rating's kind, each keeps its reason in INTERACTED.text_error; a later update does not "
                     f"classify them again: `kgrec interactions classify --classifier llm` does)")
    if rep.interest_users_failed:
        parts.append(f"the Graph-RAG interests of {plural(len(rep.interest_users_failed), 'user')} failed (they keep "
                     f"their progress and each its reason in User.interests_error; `kgrec interests extract "
                     f"--extractor llm --user ID` goes on with each)")
    end_with_failures(len(parts), "; ".join(parts) + "; every step of the update was done and everything else "
                                                     "written. Retry them as said", allow=allow)


commands = [update]
