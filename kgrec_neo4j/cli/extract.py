"""``kgrec extract items``: typed knowledge points of every item, as (:Mention) nodes in Neo4j."""

from __future__ import annotations

import click

from ..core.resources import cypher
from ._common import (
    allow_failures_option,
    batch_size_option,
    echo_table,
    end_with_failures,
    open_db,
    pass_settings,
    plural,
    silent_option,
    warn_unserved_model,
)


@click.group()
def extract():
    """Extract item knowledge points (LLM or offline) into (:Item)-[:MENTIONS]->(:Mention)."""


@extract.command("items")
@click.option("--extractor", "extractor_name", type=click.Choice(["auto", "llm", "offline"]), default="auto",
              show_default=True,
              help="llm needs KGREC_LLM_BASE_URL; offline uses patterns + embeddings; auto = llm if configured.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Extract at most N items not done yet.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Parallel LLM requests (default KGREC_LLM_CONCURRENCY); ignored by offline.")
@click.option("--use-reviews", is_flag=True, help="Also read review text of training interactions.")
@click.option("--force", is_flag=True, help="Re-extract items already done for their current text.")
@click.option("--item", "item_ids", multiple=True, help="Only this item id (repeatable).")
@allow_failures_option
@batch_size_option
@silent_option
@pass_settings
def items(settings, extractor_name, limit, concurrency, use_reviews, force, item_ids, allow_failures, batch_size,
          silent):
    """Extract knowledge points of the items in the database; done items are skipped.

    Items that failed (an answer that was not valid, a timeout) are named with their reason, which each keeps in
    Item.extract_error; everything else is written, and running the command again retries them. Such a run exits
    with code 4 (0 with --allow-failures).

    \b
    Examples:
      kgrec extract items --extractor offline
      kgrec extract items --extractor llm --limit 200 --concurrency 8
    """
    from ..core.schema import load_pack
    from ..extract.run import build_extractor, close_extractor, extract_items
    from ..extract.run import extractor_name as resolve  # the option's own name is extractor_name

    name = resolve(settings, extractor_name)
    pack = load_pack(settings.type_pack)
    extractor = build_extractor(settings, name, pack=pack, concurrency=concurrency, use_reviews=use_reviews)
    if name == "llm":
        warn_unserved_model(settings)
    try:
        with open_db(settings, writer="kgrec extract items") as db:
            if item_ids:  # an id not in the graph was passed over without a word ("0 extracted, 0 skipped")
                found = set(db.value(cypher("extract/existing_items"), ids=list(item_ids)) or [])
                missing = [i for i in dict.fromkeys(item_ids) if i not in found]
                if missing:
                    raise click.BadParameter(
                        f"unknown item(s) {', '.join(map(repr, missing))}: expected Item.id values that were loaded "
                        f"(`kgrec items search TEXT` finds an item's id); nothing was extracted", param_hint="--item")
            report = extract_items(db, extractor, limit=limit, batch_size=batch_size, progress=not silent,
                                   item_ids=list(item_ids) or None, force=force, pack=pack)
    finally:  # the LLM extractor's connection pool and event loop (the offline one has none)
        close_extractor(extractor)
    click.echo(f"extractor {report.extractor}, run {report.run}")
    click.echo(f"items: {report.items_done} extracted, {report.items_skipped} skipped (already done), "
               f"{report.items_failed} failed, {report.items_missing} missing, "
               f"{report.items_without_points} without points")
    click.echo(f"points: {report.points} ({report.points_per_item} per extracted item); mentions "
               f"{report.mentions_created} created, {report.mentions_deleted} removed")
    if report.knowledge_recomputed:
        click.echo(f"knowledge: {plural(report.knowledge_recomputed, 'item')} extracted after the concept stage "
                   f"follow their mentions (HAS_KNOWLEDGE recomputed); {plural(report.users_stamped, 'user')} of those whose "
                   f"knowledge changed stamped: `kgrec update` places the new mentions and computes their interests "
                   f"again")
    click.echo(f"time: {report.seconds:.1f} s ({report.items_per_second} items/s)")
    if report.points_by_type:
        echo_table([{"type": t, "points": n, "per item": report.points_per_item_by_type.get(t, 0.0)}
                    for t, n in report.points_by_type.items()])
    if report.failures_by_reason:
        click.echo("failures: " + ", ".join(f"{k}: {v}" for k, v in report.failures_by_reason.items()))
        from ..core.config import redact_in

        more = sum(report.failures_by_reason.values()) - len(report.failed_items)
        named = "; ".join(f"{f['item']}: {redact_in(f['error'], settings.llm_base_url)}" for f in report.failed_items)
        click.echo(f"failed items (each keeps its reason in Item.extract_error; running the command again retries "
                   f"them): {named}" + (f"; and {more} more" if more > 0 else ""), err=True)
    if report.dropped:
        click.echo("dropped: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.dropped.items())))
    if report.extractor_stats:
        click.echo("extractor: " + ", ".join(f"{k}={v}" for k, v in report.extractor_stats.items()))
    end_with_failures(report.items_failed,
                      f"{plural(report.items_failed, 'item')} failed (named above, each keeps its reason in "
                      "Item.extract_error); everything else was written. Run the same command again to retry them",
                      allow=allow_failures)


commands = [extract]
