"""``kgrec demo``: the whole pipeline on a slice of its pack's dataset (the Video Games set by default)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..core.config import Settings
from ..core.outpath import check_out_path
from ._common import item_title, open_db, pass_settings, plural
from .train import MODEL_CHOICES, parse_models

#: the dataset folder (under data_dir) each shipped pack is made for: the demo loads it unless --data names another
DEMO_DATA = {"video_games": "amazon-videogames-2018", "office_products": "amazon-office-2018",
             "movies": "movielens-100k"}
DEFAULT_MODELS = "pop, itemknn, ease, mf, lightgcn, ours"  # kgrec_neo4j.demo.BASELINES (imported when it runs)


@click.command()
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Dataset folder (default: the pack's, under <data_dir>: amazon-videogames-2018, "
                   "amazon-office-2018 for --pack office_products, movielens-100k for --pack movies).")
@click.option("--users", type=click.IntRange(1), default=2000, show_default=True, help="Seeded sample of users to load.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the evaluation table and the report page (default: <home>/demo).")
@click.option("--models", default=None,
              help=f"Comma-separated models to evaluate, some of {', '.join(MODEL_CHOICES)} (default: "
                   f"{DEFAULT_MODELS}).")
@click.option("--epochs", type=click.IntRange(1), default=None,
              help="Override the training epochs (early stopping still applies).")
@click.option("--fresh", is_flag=True, help="Empty the database first (asks for confirmation unless --yes).")
@click.option("--yes", is_flag=True, help="Do not ask before emptying the database (--fresh), or before replacing a "
                                          "stored copy of the dataset with a sample that leaves some of it out.")
@pass_settings
def demo(settings: Settings, data, users, out_dir, models, epochs, fresh, yes):
    """Run the whole pipeline: load, extract, concepts, interests, train, evaluate, recommend, explain, report.

    Uses the local Neo4j, the offline extractors and the bundled embedding model unless an LLM endpoint is
    configured. Ends with recommendations and explanations for three users and the path of a report page.
    Run again on the same database, it reloads the dataset with its sample; when that would remove stored
    users (fewer --users than before) it asks first (--yes: do not ask), and without a yes writes nothing.

    \b
    Examples:
      kgrec demo                       # 2,000 Video Games users
      kgrec demo --users 500 --fresh --yes
      kgrec --pack office_products demo --users 1000 --fresh --yes   # its dataset: amazon-office-2018
      kgrec --pack movies demo --fresh --yes                         # movielens-100k, all 943 users
    """
    from ..core.db import clear_database
    from ..demo import reload_loss, run_demo

    def confirm_reload(loss) -> bool:
        if yes:
            click.echo(f"{reload_loss(loss)}: --yes, so it is replaced", err=True)
            return True
        try:
            return click.confirm(f"{reload_loss(loss)}. Replace it?", default=False, err=True)
        except click.Abort:  # no answer (stdin closed): nothing is removed
            click.echo("", err=True)
            return False

    # before minutes of loading and extraction (it failed with a traceback at evaluation)
    names = parse_models(models) if models is not None else None
    if data is None:  # the pack's own dataset: `kgrec --pack movies demo` typed the Video Games set as films
        if settings.type_pack not in DEMO_DATA:
            raise click.ClickException(f"pack {settings.type_pack} has no dataset of its own: pass --data with the "
                                       f"folder of the catalogue it is made for")
        data = Path(settings.data_dir) / DEMO_DATA[settings.type_pack]
    if not data.is_dir():
        raise click.ClickException(f"dataset folder {data} not found; pass --data or set KGREC_DATA_DIR")
    # before the database is opened (and emptied by --fresh): a folder under a file failed with a traceback after that
    out_dir = check_out_path(out_dir or settings.home_path / "demo", folder=True, example="--out demo-out/")
    emptied: float | None = None
    with open_db(settings, writer="kgrec demo") as d:
        if fresh:
            n = d.value("MATCH (n) RETURN count(n)")
            if n and not yes:
                click.confirm(f"Empty the database at {settings.neo4j_uri} ({n} nodes)?", abort=True)
            click.echo(f"[0] emptying the database ({plural(n, 'node')}) ...")  # (a full graph takes minutes)
            t0 = time.perf_counter()
            clear_database(d)
            emptied = time.perf_counter() - t0
        rep = run_demo(d, settings, data=data, users=users, out_dir=out_dir,
                       models=names, epochs=epochs, say=click.echo,
                       confirm_reload=confirm_reload)
    click.echo("")
    click.echo("== Evaluation (test split, full ranking, train items excluded) ==")
    click.echo(rep.evaluation_markdown)
    click.echo("== Recommendations and explanations ==")
    for ur in rep.recommendations:
        click.echo(f"user {ur['user']} (run {ur['run']}):")
        for r in ur["items"][:5]:
            click.echo(f"  {r['rank']:>2}. {item_title(r['title'], r['item'])}  (score {r['score']:.3f})")
            exp = r.get("explanation") or {}
            if exp.get("sentence"):
                click.echo(f"      {exp['sentence']}")
    click.echo("")
    if emptied is not None:
        click.echo(f"{'empty the database (--fresh)':<28} {emptied:>7.1f}s")
    for st in rep.stages:
        click.echo(f"{st.stage:<28} {st.seconds:>7.1f}s  {st.summary}")
    click.echo(f"{'total':<28} {rep.seconds + (emptied or 0.0):>7.1f}s")
    if rep.report_page:
        click.echo(f"report page: {rep.report_page}")


commands = [demo]
