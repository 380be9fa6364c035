"""``kgrec update``: only what changed since the last completed update."""

from __future__ import annotations

import click

from ..core.config import Settings
from ._common import echo_json, open_db, pass_settings, silent_option, take_lease


@click.command()
@click.option("--extractor", type=click.Choice(["auto", "llm", "offline"]), default="auto", show_default=True,
              help="Item extractor for new and changed items (auto = llm if an endpoint is configured).")
@click.option("--classifier", type=click.Choice(["lexicon", "prototype", "llm", "rating"]), default="lexicon",
              show_default=True, help="Classifier of new and changed interactions.")
@click.option("--interests", type=click.Choice(["offline", "llm"]), default="offline", show_default=True,
              help="Interests of the changed users: offline, or offline then Graph-RAG (llm).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@silent_option
@pass_settings
def update(settings: Settings, extractor, classifier, interests, as_json, silent):
    """Bring the graph up to date with what changed since the last completed update, and do only that.

    New or changed items are extracted, their mentions projected and grown into concepts, and their
    knowledge recomputed; new interactions are classified and the interests of the users they touch
    recomputed; new items get vectors of the current run at once, folded in from their concepts (and first
    interactions), so they are recommended and explained before any retraining. Resumable after a kill:
    run it again. With nothing new it says so and writes nothing (it takes the writer lease only once it
    has found work).

    \b
    Examples:
      kgrec load ../shared/data/amazon-videogames-2018 --append && kgrec update
      kgrec update --extractor llm --classifier llm
    """
    from ..update import run_update

    say = (lambda s: None) if as_json or silent else (lambda s: click.echo(s, err=True))
    with open_db(settings) as d:  # the writer lease is taken by run_update, once it has found work
        rep = run_update(d, settings, extractor=extractor, classifier=classifier, interests=interests,
                         progress=not (silent or as_json), say=say,
                         lease=lambda: take_lease(d, settings, "kgrec update"))
    if as_json:
        echo_json(rep.model_dump())
        return
    if rep.status == "nothing":
        click.echo(f"nothing new since the last update (ingest {rep.previous}); nothing was written")
        return
    click.echo(f"update {rep.id}" + (" (resumed)" if rep.resumed else "")
               + f": ingest {rep.previous} -> {rep.ingest} in {rep.seconds:.1f}s")
    click.echo(f"items:     {rep.items_extracted} extracted ({rep.items_failed} failed), knowledge of "
               f"{rep.items_knowledge} recomputed; {rep.mentions_projected} new mentions projected, "
               f"{rep.mentions_assigned} mentions assigned, {rep.concepts_grown} concepts grown, "
               f"{rep.mentions_pending} pending")
    click.echo(f"users:     {rep.users_changed} with new or changed interactions, {rep.users_through_knowledge} "
               f"through changed knowledge; {rep.users_classified} classified, interests of {rep.users_interests} "
               f"recomputed ({rep.interest_edges} edges)")
    if rep.fold_skipped:
        click.echo(f"model:     no item folded in ({rep.fold_skipped})")
    else:
        click.echo(f"model:     {rep.items_folded} items folded into run {rep.run} ({rep.items_new} new), "
                   + (f"version {rep.run_version}" if rep.run_version is not None else "its version unchanged"))
    for s in rep.steps:
        click.echo(f"  {s.step:<10} {s.seconds:7.1f}s  {s.summary}")
    if rep.later_loads:
        click.echo(f"{rep.later_loads} load(s) arrived during the update: run `kgrec update` again", err=True)


commands = [update]
