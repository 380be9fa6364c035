"""``kgrec types discover``: propose a knowledge-type pack for a new domain from a sample of items."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import echo_table, open_db, pass_settings, silent_option


@click.group()
def types():
    """Knowledge-type packs: list the shipped ones, discover the types of a new domain."""


@types.command("list")
@pass_settings
def list_packs(settings):
    """The shipped type packs (schema/packs/), each with its domain and types; * marks the pack commands run with.

    A domain's commands all run with its pack: `kgrec --pack NAME ...` or KGREC_TYPE_PACK=NAME, from `kgrec schema
    apply` on. A pack file of your own (`kgrec types discover`) is given by its path.

    \b
    Example:
      kgrec types list
    """
    from ..core.schema import available_packs, load_pack

    active = load_pack(settings.type_pack).name
    names = available_packs()
    if active not in names:
        names.append(settings.type_pack)
    for name in names:
        pack = load_pack(name)
        click.echo(f"{'*' if pack.name == active else ' '} {name}: {pack.domain}")
        click.echo(f"    {', '.join(pack.names)}")


@types.command("discover")
@click.option("--data", "data", type=click.Path(exists=True, path_type=Path), multiple=True,
              help="A dataset folder or its files (read directly, no Neo4j needed). Repeatable.")
@click.option("--from-db", is_flag=True, help="Read the items stored in Neo4j instead of --data.")
@click.option("--sample", type=click.IntRange(min=1), default=200, show_default=True, help="Items to learn from.")
@click.option("--k", "k", type=click.IntRange(min=1), default=9, show_default=True,
              help="Types to propose besides Others.")
@click.option("--extractor", "extractor", type=click.Choice(["llm", "offline"]), default="offline", show_default=True,
              help="llm: free-typed points from KGREC_LLM_BASE_URL; offline: candidate phrases (no LLM).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The pack file to write (.yaml), for a person to review.")
@click.option("--name", default="discovered", show_default=True, help="The pack's name.")
@click.option("--domain", default="", help="The pack's domain line (also shown to the LLM).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the item sample.")
@click.option("--min-similarity", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Clustering cut (cosine; default 0.6 for llm type names, 0.45 for offline phrases).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Parallel LLM requests.")
@click.option("--force", is_flag=True, help="Replace the --out file if it exists (a reviewed pack is never replaced "
                                            "without it).")
@silent_option
@pass_settings
def discover(settings, data, from_db, sample, k, extractor, out, name, domain, seed, min_similarity, concurrency,
             force, silent):
    """Cluster the knowledge of a sample of items into K types + Others and write them as a pack file.

    \b
    Examples:
      kgrec types discover --data ../shared/data/amazon-office-2018 --out office.yaml --domain "Office products"
      kgrec types discover --from-db --extractor llm --sample 200 --k 9 --out mine.yaml
    """
    from .. import discover as disc
    from ..core.outpath import check_out_path

    if bool(data) == bool(from_db):
        raise click.UsageError("give exactly one of --data PATH or --from-db")
    check_out_path(out, folder=False, example="--out mine.yaml")  # before the sample is extracted and clustered
    if out.exists() and not force:  # the file is meant to be edited by hand: a rerun must not lose the edits
        raise click.ClickException(f"{out} exists (a pack file you may have reviewed); nothing was done. Give "
                                   f"another --out, or --force to replace it.")
    if data:
        items = disc.items_from_dataset(list(data))
    else:
        with open_db(settings) as db:
            items = disc.items_from_db(db)
    report = disc.discover(items, settings, k=k, sample=sample, extractor=extractor, seed=seed, name=name,
                           domain=domain, out=out, min_similarity=min_similarity, concurrency=concurrency,
                           progress=not silent)
    click.echo(f"extractor {report.extractor}: {report.items_sampled} of {report.items_available} items sampled, "
               f"{report.items_with_labels} with labels, {report.items_failed} failed")
    click.echo(f"labels: {report.observations} ({report.distinct_labels} distinct), {report.clusters} clusters at "
               f"similarity {report.min_similarity}; the {report.k} types cover {report.covered_by_types:.0%} "
               f"of the sampled items")
    echo_table([{"type": t.name, "coverage": t.coverage, "cohesion": t.cohesion, "score": t.score,
                 "members": ", ".join(t.members[:5])} for t in report.types])
    if report.runners_up:
        click.echo("next clusters: " + ", ".join(f"{t.name} ({t.score:.3f})" for t in report.runners_up))
    if report.dropped:
        click.echo("dropped: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.dropped.items())))
    click.echo(f"wrote {report.out} in {report.seconds:.1f} s: review the names and definitions, then use it "
               f"with `kgrec --pack {report.out} schema apply`")


commands = [types]
