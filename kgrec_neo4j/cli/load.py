"""``kgrec load``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..core.config import Settings
from ._common import batch_size_option, open_db, pass_settings, plural, silent_option


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["generic", "amazon2018", "amazon2023"]), default=None,
              help="Input format (default: detected from the files).")
@click.option("--dataset", "name", default=None, help="Dataset name (default: the folder name).")
@click.option("--strict", is_flag=True, help="Refuse the whole input, writing nothing, if any record is bad.")
@click.option("--k-core", "k_core", type=click.IntRange(0), default=0, help="Iterative k-core filter for users and items.")
@click.option("--users", "max_users", type=click.IntRange(1), default=None, help="Load a seeded sample of this many users.")
@click.option("--append", is_flag=True,
              help="Add the files to the stored dataset: new interactions after each user's stored ones (next seq), "
                   "new users, new items. Without it, loading a stored dataset again replaces its rows.")
@click.option("--yes", is_flag=True,
              help="Allow a reload that removes more than half (or all) of the dataset's stored interactions, "
                   "interactions recorded live, or the rows of files it leaves out, or that replaces the text of "
                   "items the service recorded; and an append that shares no user and no item with the stored "
                   "dataset.")
@click.option("--id-prefix", default=None,
              help="Store this dataset's user and item ids with this prefix (ids are unique per dataset).")
@batch_size_option
@silent_option
@pass_settings
def load(settings: Settings, paths, fmt, name, strict, k_core, max_users, append, yes, id_prefix, batch_size, silent):
    """Load items, users and interactions (generic jsonl, Amazon 2018 or Amazon 2023).

    Splits each user's history last-two-out (train / valid / test) by seq; sets a baseline kind and sign
    from the rating. Bad records are reported with file, line and reason, and skipped (--strict refuses
    the whole input). Loading a stored dataset again replaces its rows: what the files no longer have is
    removed with everything derived from it, other datasets are never touched. --append adds to it.
    Changes are stamped for `kgrec update`.

    \b
    Examples:
      kgrec load ../shared/data/amazon-videogames-2018
      kgrec load ../shared/data/amazon-videogames-2018 --users 2000
      kgrec load ../shared/data/amazon-videogames-2018 --append && kgrec update
      kgrec load ../shared/data/formats/amazon2018/Video_Games_5.sample.json.gz --format amazon2018 --k-core 2
    """
    from ..load import load as run_load

    bars: dict[str, Any] = {}  # stage -> tqdm bar

    def progress(stage: str, done: int, total: int) -> None:
        if silent:
            return
        if stage not in bars:
            from ..core.progress import bar as progress_bar

            bars[stage] = progress_bar(total=total, desc=f"load {stage}", unit="row", leave=False)
        bar = bars[stage]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    with open_db(settings, writer="kgrec load") as d:
        from ..core.schema import check_pack, load_pack

        # a database holds one pack: data loaded with another would be typed by the wrong one next (extract, update)
        check_pack(d, load_pack(settings.type_pack))
        rep = run_load(d, list(paths), fmt=fmt, name=name, strict=strict, k_core_users=k_core, k_core_items=k_core,
                       max_users=max_users, seed=settings.seed, batch_size=batch_size or settings.batch_size,
                       progress=progress, append=append, yes=yes, id_prefix=id_prefix)
    click.echo(f"dataset {rep.dataset} ({rep.format}, {rep.mode}"
               + (f", id prefix {rep.id_prefix!r}" if rep.id_prefix else "") + f") from {', '.join(rep.sources)}")
    if rep.other_datasets:  # a day's rows loaded without --dataset start a dataset named after their folder
        click.echo(f"note:    {rep.dataset!r} is a new dataset beside {', '.join(map(repr, rep.other_datasets))}; "
                   f"rows meant for a stored one are added to it with `--dataset NAME --append` (a dataset's name "
                   f"comes from its folder or file otherwise)", err=True)
    click.echo(f"read:    {plural(rep.lines_read, 'line')}, {plural(rep.items_read, 'item')}, "
               f"{plural(rep.interactions_read, 'interaction')}")
    new_users = f" ({rep.users_new} new)" if rep.mode != "new" and rep.users_written else ""
    click.echo(f"written: {plural(rep.users_written, 'user')}{new_users}, {plural(rep.items_written, 'item')}, "
               f"{plural(rep.interactions_written, 'interaction')} "
               f"(train {rep.splits.get('train', 0)}, valid {rep.splits.get('valid', 0)}, test {rep.splits.get('test', 0)})"
               + (f"; {plural(rep.splits_changed, 'stored interaction')} split again" if rep.splits_changed else ""))
    if rep.interactions_earlier:  # seq is the order of arrival, whatever the timestamps say
        n = rep.interactions_earlier
        click.echo(f"order:   {plural(n, 'appended interaction')} {'is' if n == 1 else 'are'} older than "
                   f"{'its' if n == 1 else 'their'} user's newest stored one ({plural(rep.users_earlier, 'user')}: "
                   f"{', '.join(rep.users_earlier_examples)}{', …' if rep.users_earlier > 5 else ''}); "
                   f"{'it is' if n == 1 else 'they are'} numbered after the stored history and "
                   f"count{'s' if n == 1 else ''} as the most recent (recency, short-term interests, the "
                   f"last-two-out split)", err=True)
    if rep.interactions_already_stored or rep.items_text_kept:
        click.echo(f"kept:    {plural(rep.interactions_already_stored, 'interaction')} already stored (not written again), "
                   f"{plural(rep.items_text_kept, 'stored item')} keeping the text fields their records leave out")
        if rep.interactions_kept_untimed:
            click.echo(f"         {rep.interactions_kept_untimed} of those interactions have no timestamp: a row that "
                       f"repeats a user's last stored interactions with nothing to tell them apart counts as stored; "
                       f"give a repeat purchase its timestamp to add it")
    if rep.mode == "reload":
        click.echo(f"removed: {plural(rep.interactions_removed, 'interaction')}, {plural(rep.users_removed, 'user')}, "
                   f"{plural(rep.items_removed, 'item')}" + (f"; nothing of dataset {rep.dataset} is left, so it was removed "
                                                   f"too" if rep.dataset_removed else ""))
    click.echo(f"changed: {plural(rep.users_touched, 'user')} stamped with ingest {rep.ingest} for `kgrec update`" if rep.ingest
               else "changed: nothing (no ingest number taken)")
    skipped = sum(rep.skipped.values())
    click.echo(f"skipped: {skipped}" + (" (" + ", ".join(f"{k}: {v}" for k, v in sorted(rep.skipped.items())) + ")"
                                         if skipped else ""))
    for line in rep.issues[:10]:
        click.echo(f"  {line}", err=True)
    if len(rep.issues) > 10:
        click.echo(f"  … {skipped - 10} more", err=True)
    if skipped and rep.mode == "append":
        click.echo("  to add the skipped lines, correct them and append a file of only those lines (appending the "
                   "whole file again is safe for rows with a timestamp, which are recognised as stored; a row without "
                   "one that the user's history does not end with is stored twice)", err=True)
    elif skipped:
        click.echo("  to add the skipped lines, correct them and run the same command again (it writes only what is "
                   "missing or changed)", err=True)
    click.echo(f"time:    {rep.seconds:.1f}s")


commands = [load]
