"""``kgrec concepts``: build, project, grow, suggest-merges, merge, prune, report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.config import Settings
from ._common import (
    KgrecGroup,
    echo_table,
    min_confidence_option,
    open_db,
    pass_settings,
    plural,
    silent_option,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..concepts.build import TypeBuild


def _pack_and_embedder(settings: Settings):
    from ..core.embed import get_embedder
    from ..core.schema import load_pack

    return load_pack(settings.type_pack), get_embedder(settings)


def _parse_bands(values: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    out = {}
    for v in values:
        try:
            name, rng = v.rsplit("=", 1)
            lo, hi = (int(x) for x in rng.split(":"))
        except ValueError:
            raise click.BadParameter(f"expected TYPE=LO:HI (got {v!r}), e.g. 'Compatibility=40:150'") from None
        if not 1 <= lo <= hi:
            raise click.BadParameter(f"a band needs 1 <= LO <= HI (got {v!r}), e.g. 'Compatibility=40:150'",
                                     param_hint="--band")
        out[name] = (lo, hi)
    return out


def _types(values: tuple[str, ...]) -> list[str] | None:
    return list(values) or None


type_option = click.option("--type", "types", multiple=True, help="Only this knowledge type (repeatable).")


@click.group(cls=KgrecGroup)
def concepts():
    """Canonical concepts: a stable, incremental vocabulary per knowledge type."""


@concepts.command()
@click.option("--sample", "fraction", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Share of the mentioned items to cluster (e.g. 0.05).")
@click.option("--items", "count", type=click.IntRange(min=1), default=None, help="Number of items to cluster.")
@click.option("--floor", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Similarity floor (default 0.86); with --band, the start of the search for the band's floor.")
@click.option("--floor-min", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Lowest floor the band search may use (default 0.70).")
@click.option("--floor-max", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Highest floor the band search may use (default 0.92).")
@click.option("--min-items", type=click.IntRange(min=1), default=2, show_default=True,
              help="A cluster becomes a concept only if this many items mention its values.")
@click.option("--band", "bands", multiple=True, metavar="TYPE=LO:HI",
              help="Target number of concepts of a type: its floor is moved within --floor-min/--floor-max to "
                   "meet it (default: no band, every type at --floor).")
@click.option("--acceptance", type=click.FloatRange(0, 1), default=None,
              help="Projection threshold stored with each type (default: the chosen floor).")
@type_option
@min_confidence_option
@silent_option
@pass_settings
def build(settings: Settings, fraction, count, floor, floor_min, floor_max, min_items, bands, acceptance, types,
          min_confidence, silent):
    """First vocabulary: cluster the values of a sample of items, per type, under a similarity floor.

    Types that already have concepts are skipped (their vocabulary only grows).

    \b
    Examples:
      kgrec concepts build --sample 0.05
      kgrec concepts build --items 1000 --band Compatibility=40:150
    """
    from ..concepts import build as B

    if fraction is not None and count is not None:
        raise click.UsageError("give --sample or --items, not both")
    from ..concepts.build import DEFAULT_FLOOR, DEFAULT_FLOOR_MAX, DEFAULT_FLOOR_MIN

    lowest = DEFAULT_FLOOR_MIN if floor_min is None else floor_min
    highest = DEFAULT_FLOOR_MAX if floor_max is None else floor_max
    if lowest > highest:
        raise click.BadParameter(f"--floor-min {lowest} is above --floor-max {highest} (defaults {DEFAULT_FLOOR_MIN} "
                                 f"and {DEFAULT_FLOOR_MAX}); give --floor-min <= --floor-max",
                                 param_hint="--floor-min/--floor-max")
    start = DEFAULT_FLOOR if floor is None else floor
    if bands and not lowest <= start <= highest:  # the search starts at --floor, and keeps it when the band is missed
        raise click.BadParameter(f"--floor {start}{' (the default)' if floor is None else ''} is outside --floor-min "
                                 f"{lowest} .. --floor-max {highest}: a band search starts at the floor and keeps it "
                                 "when no floor meets the band; give a floor within the limits",
                                 param_hint="--floor")
    pack, emb = _pack_and_embedder(settings)
    kw = {k: v for k, v in (("floor", floor), ("floor_min", floor_min), ("floor_max", floor_max)) if v is not None}
    with open_db(settings, writer="kgrec concepts build") as d:
        rep = B.build_vocabulary(d, emb, pack, fraction=fraction, count=count, types=_types(types),
                                 bands=_parse_bands(bands), acceptance=acceptance, min_items=min_items,
                                 min_confidence=min_confidence if min_confidence is not None else settings.min_confidence,
                                 seed=settings.seed, progress=None if silent else click.echo, **kw)
    click.echo(f"sample: {rep.items_sampled} of {rep.items_total} mentioned items ({rep.seconds:.1f}s)")
    echo_table([{"type": t.type, "values": t.values, "concepts": t.concepts, "floor": t.floor,
                 "band": "" if t.band is None else f"{t.band[0]}-{t.band[1]}",
                 "band met": "" if t.band_met is None else ("yes" if t.band_met else "no"),
                 "singletons": t.singletons, "one item (waiting)": t.unshared,
                 "seconds": round(t.cluster_s + t.embed_s + t.write_s, 2),
                 "note": t.skipped or ""} for t in rep.types])
    for t in rep.types:
        note = band_note(t)
        if note:
            click.echo(note)
    if rep.families is not None:
        click.echo(f"family relations (BROADER): {rep.families.edges}")
    if rep.knowledge_repaired:
        click.echo(f"knowledge (HAS_KNOWLEDGE) written for {plural(rep.knowledge_repaired, 'item')} whose mentions of "
                   "the types built before had concepts but no knowledge edge (as a build stopped before its items' "
                   "knowledge leaves them); `kgrec concepts families` links the families of such a type")


def band_note(t: TypeBuild) -> str | None:
    """What a build says of a type whose band is out of reach (None when it has no band or met it)."""
    if t.band is None or t.band_met is not False:
        return None
    floor = round(float(t.floor or 0.0), 4)
    found = dict((round(f, 4), n) for f, n in t.tried)
    others = ", ".join(f"{n} at {f:.4g}" for f, n in sorted(found.items()) if f != floor) or "none tried"
    return (f"{t.type}: no floor between --floor-min and --floor-max gives {t.band[0]}-{t.band[1]} clusters "
            f"({others}); the floor stays {floor:.4g} ({found.get(floor, t.concepts)} clusters there) rather than "
            "merge unlike values for a band it would still miss. Widen the band or the floor limits.")


@concepts.command()
@type_option
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, help="Mentions per search and write.")
@click.option("--workers", type=click.IntRange(min=1), default=2, help="Parallel searches.")
@click.option("--search", type=click.Choice(["auto", "exact", "index"]), default="auto", show_default=True,
              help="exact: every concept of the type in memory; index: Neo4j's vector index; auto: exact up to "
                   "200,000 concepts.")
@click.option("--k", "k", type=click.IntRange(min=1, max=1024), default=8,
              help="Index candidates per mention (more = better recall of the approximate index, slower).")
@min_confidence_option
@silent_option
@pass_settings
def project(settings: Settings, types, batch_size, workers, search, k, min_confidence, silent):
    """Assign every mention without a concept to its nearest concept of its type.

    Below the type's acceptance threshold a mention stays pending (for `kgrec concepts grow`).

    \b
    Example:
      kgrec concepts project
    """
    from ..concepts.project import project_mentions

    pack, emb = _pack_and_embedder(settings)
    bar = None
    with open_db(settings, writer="kgrec concepts project") as d:
        def progress(n: int) -> None:
            nonlocal bar
            if silent:
                return
            if bar is None:
                from ..core.progress import bar as progress_bar

                bar = progress_bar(desc="project", unit="mention", leave=False)
            bar.update(n)

        rep = project_mentions(d, emb, pack, types=_types(types), batch_size=batch_size, workers=workers, k=k,
                               search=search,
                               min_confidence=min_confidence if min_confidence is not None else settings.min_confidence,
                               progress=progress)
        if bar is not None:
            bar.close()
    click.echo(f"mentions: {rep.mentions}  assigned: {rep.assigned}  pending: {rep.pending}  "
               f"items updated: {rep.items_updated}")
    click.echo(f"time: embed {rep.embed_s:.1f}s, {rep.search} search + write {rep.project_s:.1f}s "
               f"({rep.mentions_per_s:.0f} mentions/s), HAS_KNOWLEDGE {rep.knowledge_s:.1f}s")
    for t, n in rep.skipped_types.items():
        click.echo(f"skipped {n} mentions of {t!r}: no vocabulary yet (`kgrec concepts build --type '{t}'`)")


@concepts.command()
@type_option
@click.option("--min-items", type=click.IntRange(min=1), default=2,
              help="A new concept needs mentions from at least this many items.")
@min_confidence_option
@silent_option
@pass_settings
def grow(settings: Settings, types, min_items, min_confidence, silent):
    """Cluster only the pending mentions into new concepts; existing ones never change.

    \b
    Example:
      kgrec concepts project && kgrec concepts grow
    """
    from ..concepts.grow import grow_vocabulary

    pack, emb = _pack_and_embedder(settings)
    with open_db(settings, writer="kgrec concepts grow") as d:
        rep = grow_vocabulary(d, emb, pack, types=_types(types), min_items=min_items,
                              min_confidence=min_confidence if min_confidence is not None else settings.min_confidence,
                              progress=None if silent else click.echo)
    echo_table([{"type": t.type, "pending": t.pending, "new concepts": t.new_concepts, "members": t.members,
                 "floor": t.floor, "note": t.skipped or ""} for t in rep.types])
    if rep.projection:
        click.echo(f"re-projected {rep.projection.mentions} pending mentions: {rep.projection.assigned} assigned")
    if rep.families is not None:
        click.echo(f"family relations (BROADER): {rep.families.edges}")


@concepts.command()
@type_option
@pass_settings
def families(settings: Settings, types):
    """Store family relations between concepts: (:Concept)-[:BROADER]->(:Concept), never merges.

    "Xbox One" and "Xbox 360" are two concepts, each BROADER -> "Xbox". Build and grow do this too.

    \b
    Example:
      kgrec concepts families
    """
    from ..concepts.families import link_families
    from ..core import schema

    pack = schema.load_pack(settings.type_pack)
    with open_db(settings, writer="kgrec concepts families") as d:
        schema.check_pack(d, pack)  # (build, grow and update, which link families too, check it themselves)
        rep = link_families(d, pack, types=_types(types))
    echo_table([{"type": t, "BROADER edges": n} for t, n in rep.edges_by_type.items()])


@concepts.command("same-work")
@click.option("--max-group", type=click.IntRange(min=2), default=30, show_default=True,
              help="Items sharing one work name beyond this many are not linked (a generic name).")
@pass_settings
def same_work(settings: Settings, max_group):
    """Link items that are the same work (edition, platform, packaging): (:Item)-[:SAME_WORK]->(:Item).

    Serving demotes or groups them when the user owns one (setting same_work: demote, group, keep).

    \b
    Example:
      kgrec concepts same-work
    """
    from ..concepts.works import link_same_work
    from ..core import schema

    pack = schema.load_pack(settings.type_pack)
    with open_db(settings, writer="kgrec concepts same-work") as d:
        schema.check_pack(d, pack)  # work names are read from titles by the pack's rules (update and demo check it too)
        rep = link_same_work(d, pack, settings=settings, max_group=max_group)
    if not rep.reads_titles:
        click.echo(f"no links: pack {pack.name} reads no work name from a title (the video-games and movies packs do), so "
                   f"no item was linked" + (f"; {rep.removed} stale links removed" if rep.removed else ""))
        return
    click.echo(f"items: {rep.items}, with a work name: {rep.items_with_work}, groups: {rep.groups}, "
               f"links: {rep.edges}" + (f" ({', '.join(f'{k} {v}' for k, v in sorted(rep.by_kind.items()))})"
                                        if rep.by_kind else "") + f", stale removed: {rep.removed}")
    if rep.generations_apart:
        click.echo(f"not linked (platforms two or more generations apart): {rep.generations_apart}")
    if rep.skipped_groups:
        click.echo(f"groups above --max-group, not linked: {', '.join(rep.skipped_groups[:10])}")


@concepts.command("suggest-merges")
@type_option
@click.option("--min-similarity", type=click.FloatRange(-1, 1), default=None,
              help="Concept similarity to list (default: the type's floor).")
@click.option("--limit", type=click.IntRange(min=1), default=30)
@click.option("--with-variants", is_flag=True,
              help="List the pairs the variant guard keeps apart too (another number, size or model: 16 MB / 8 MB).")
@pass_settings
def suggest_merges(settings: Settings, types, min_similarity, limit, with_variants):
    """List near-duplicate concept pairs (nothing is changed).

    Pairs whose names differ in a number, unit, size, colour or model word (16 MB / 8 MB, Xbox One / Xbox 360)
    are not listed: the variant guard keeps them apart when the vocabulary is built. --with-variants lists them,
    marked.

    \b
    Example:
      kgrec concepts suggest-merges --type Compatibility --min-similarity 0.85
    """
    from ..concepts.merge import suggest_merges as run

    pack, emb = _pack_and_embedder(settings)
    with open_db(settings) as d:
        rows = run(d, emb, pack, types=_types(types), min_similarity=min_similarity, limit=limit,
                   with_variants=with_variants)
    echo_table([{"type": s.type, "keep": s.keep, "keep name": s.keep_name, "absorb": s.absorb,
                 "absorb name": s.absorb_name, "similarity": s.similarity, "min cross": s.min_cross,
                 "keeps floor": "yes" if s.keeps_floor else "no",
                 **({"variant guard": "apart" if s.guard_apart else "ok"} if with_variants else {})} for s in rows])


@concepts.command()
@click.argument("keep")
@click.argument("absorb")
@min_confidence_option
@pass_settings
def merge(settings: Settings, keep, absorb, min_confidence):
    """Merge concept ABSORB into KEEP; ABSORB's id stays valid as an alias of KEEP.

    Concept ids are printed by `kgrec items show` and `kgrec concepts suggest-merges`.

    \b
    Example (the Components concepts "Game Controller" and "controller" of the 2,000-user demo):
      kgrec concepts merge c_a795996fa02aeec9 c_5272679c239eeaa2
    """
    from ..concepts.merge import merge_concepts

    pack, emb = _pack_and_embedder(settings)
    with open_db(settings, writer="kgrec concepts merge") as d:
        rep = merge_concepts(d, emb, pack, keep, absorb,
                             min_confidence=min_confidence if min_confidence is not None else settings.min_confidence)
    if rep.already:
        click.echo(f"{keep} and {absorb} name one concept already, {rep.keep} (the merge was done before): nothing "
                   f"changed; aliases of {rep.keep}: {', '.join(rep.aliases)}")
        return
    click.echo(f"merged {rep.absorbed} into {rep.keep}: {rep.moved_members} mentions moved, "
               f"{rep.redirected_relationships} relationships redirected"
               + (f" ({rep.twins_removed} more removed: {rep.keep} had them already)" if rep.twins_removed else "")
               + f", {rep.items_updated} items updated; aliases of {rep.keep}: {', '.join(rep.aliases)}")


@concepts.command()
@type_option
@click.option("--yes", is_flag=True, help="Remove them (without it, only list them; nothing is changed).")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Unused concepts listed by name (0: all).")
@pass_settings
def prune(settings: Settings, types, yes, limit):
    """Remove the concepts that nothing uses any more: no mention, no item's knowledge, no user's interest.

    Extracting items again (a new extractor, a changed text) or reloading a dataset that lost items leaves the
    concepts of their old values; the vocabulary never shrinks by itself, and the concept vector index still places
    new mentions on them. Without --yes this lists them and changes nothing. With --yes they are removed with their
    family relations; their ids stay retired (never given to a concept grown later). Nothing a model reads changes.

    \b
    Example:
      kgrec concepts prune            # list
      kgrec concepts prune --yes      # remove
    """
    from ..concepts.prune import prune_concepts

    with open_db(settings, writer="kgrec concepts prune" if yes else None) as d:
        rep = prune_concepts(d, _types(types), apply=yes)
    if not rep.unused:
        click.echo("no unused concept" + (f" of {', '.join(types)}" if types else "") + ": nothing to prune")
        return
    shown = rep.unused if limit == 0 else rep.unused[:limit]
    echo_table([{"type": c.type, "id": c.id, "name": c.name or "", "aliases": ", ".join(c.aliases),
                 "family relations": c.family} for c in shown])
    if len(shown) < len(rep.unused):
        click.echo(f"... and {len(rep.unused) - len(shown)} more (--limit 0 lists them all)")
    counts = ", ".join(f"{t} {n}" for t, n in sorted(Counter(c.type for c in rep.unused).items()))
    if not yes:
        click.echo(f"{len(rep.unused)} unused concepts ({counts}); nothing changed: `kgrec concepts prune --yes` "
                   f"removes them")
        return
    click.echo(f"{len(rep.removed)} unused concepts removed ({counts}); their ids are retired"
               + (f"; {len(rep.kept)} kept (used again, or gone, before the write: {', '.join(rep.kept[:5])})"
                  if rep.kept else ""))


@concepts.command()
@type_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for concepts-report.md and concept-sizes.png (default <home>/reports).")
@pass_settings
def report(settings: Settings, types, out_dir):
    """Per type: mentions, unique texts, concepts, coverage, intra-concept similarity, nearest-other
    similarity, largest concepts; markdown plus a PNG of concept sizes.

    \b
    Example:
      kgrec concepts report --out reports/
    """
    from ..concepts.report import concepts_report
    from ..core.outpath import check_out_path

    out = check_out_path(out_dir or settings.home_path / "reports", folder=True, example="--out reports/")
    pack, emb = _pack_and_embedder(settings)
    out.mkdir(parents=True, exist_ok=True)
    with open_db(settings) as d:
        rep = concepts_report(d, emb, pack, types=_types(types), png_path=out / "concept-sizes.png")
    (out / "concepts-report.md").write_text(rep.markdown, encoding="utf-8")
    click.echo(rep.markdown)
    click.echo(f"written: {out / 'concepts-report.md'}" + (f", {rep.png}" if rep.png else ""))


commands = [concepts]
