"""``kgrec recommend``, ``kgrec explain``, ``kgrec report``."""

from __future__ import annotations

import math

import click

from ..core.config import Settings
from ._common import echo_json, item_title, open_db, pass_settings, plural

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.command()
@click.option("--user", "user_id", default=None, help="User.id to recommend for.")
@click.option("--all", "all_users", is_flag=True, help="Every user: store each one's RECOMMENDED edges (batch).")
@click.option("--history", default=None, metavar="ITEM[:RATING],...",
              help="A visitor who is no user of the graph: their items, oldest first (a rating 0-5 after a colon; "
                   "none: implicit; an id that ends in a colon and a number takes one more colon: ID:), at most "
                   "1,000. Scored as a user with these interactions and nothing else; reads "
                   "only: nothing is stored, no explanations.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="List length.")
@click.option("--explain", "with_explain", is_flag=True,
              help="Split each item's score into its reasons, with their stored paths.")
@click.option("--paths", "per_item", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Concept paths shown per reason (with --explain), besides its item link or interest edge; the "
                   "sentence does not depend on it.")
@click.option("--no-store", is_flag=True, help="Do not replace the user's stored RECOMMENDED edges.")
@click.option("--allow-repeats", is_flag=True,
              help="Keep items the user already interacted with (repeat purchases), except those they only disliked.")
@click.option("--same-work", type=click.Choice(["demote", "group", "keep"]), default=None,
              help="Editions and ports of what the user owns: after every other item (demote), or in place, "
                   "labelled (group, keep). Default: the same_work setting.")
@click.option("--batch", "chunk", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Users scored per round trip (with --all).")
@json_option
@pass_settings
def recommend(settings: Settings, user_id, all_users, history, k, with_explain, per_item, no_store, allow_repeats,
              same_work, chunk, as_json):
    """Top-k items for a user, from every interaction the user has in the graph now (serving mode).

    The current model run scores the user's live edges: interactions written by `kgrec load` or by any
    Cypher client count at once, a user the run never saw is folded in, and every item the user
    interacted with is excluded (unless --allow-repeats). A user with no edges gets the most popular
    items, labelled as such. The list replaces the user's (:User)-[:RECOMMENDED {rank, score, run}]->(:Item)
    edges unless --no-store; --all does it for every user.

    \b
    Examples:
      kgrec recommend --user A2OAG0NE83ODBD
      kgrec recommend --user A2OAG0NE83ODBD -k 20 --explain
      kgrec recommend --all -k 10
      kgrec recommend --history B000ECX0GU,B0001CJCE2:5 -k 5
    """
    from ..serve.explain import new_items_note
    from ..serve.recommend import recommend as run_recommend

    if sum((all_users, user_id is not None, history is not None)) != 1:
        raise click.UsageError("give exactly one of --user ID, --all and --history ITEMS")
    if history is not None:
        src = click.get_current_context().get_parameter_source
        given = [f"--{n.replace('_', '-')}" for n, opt in (("paths", "per_item"), ("batch", "chunk"),
                                                            ("no_store", "no_store"))
                 if src(opt) is click.core.ParameterSource.COMMANDLINE]
        if given:  # (they were passed over without a word)
            raise click.UsageError(f"{', '.join(given)} do(es) not apply to --history: a session's list is neither "
                                   f"explained nor stored, and is one list")
        _recommend_session(settings, history, k=k, allow_repeats=allow_repeats, same_work=same_work, as_json=as_json,
                           explain=with_explain, no_store=no_store)
        return
    if all_users:
        _recommend_all(settings, k=k, chunk=chunk, allow_repeats=allow_repeats, same_work=same_work, as_json=as_json)
        return
    with open_db(settings) as d:
        rec = run_recommend(d, user_id, k, explain=with_explain, store=not no_store, per_item=per_item,
                            allow_repeats=allow_repeats, same_work=same_work)
    if as_json:  # (`stored`: the RECOMMENDED edges this command wrote, as the text output's last line says)
        echo_json({**rec.model_dump(), "stored": 0 if no_store else len(rec.items)})
        return
    what = {"model": f"{plural(rec.excluded, 'interacted item')} excluded",
            "interests": "no interactions yet: folded in from the user's interests",
            "popular": "no interactions or interests yet: the most popular items"}[rec.source]
    if rec.source != "model" and rec.new_items:
        what = (new_items_note(rec.new_items, rec.blank_items, whose="the user") + "; so: "
                + ("folded in from the user's interests" if rec.source == "interests" else "the most popular items"))
    if rec.run_lacks_dataset is not None:  # (an update folds in nothing for it: the run is of another dataset)
        what = (f"the run holds no item of the user's dataset {rec.run_lacks_dataset!r}: it was trained on another; "
                f"`kgrec train` without --dataset, or with --dataset {rec.run_lacks_dataset}, covers it")
    click.echo(f"top {len(rec.items)} for user {rec.user} (run {rec.run}; {what})")
    for r in rec.items:
        click.echo(f"{r.rank:>3}. {r.item}  {r.score:8.4f}  {item_title(r.title, r.item)}"
                   + (f"  [another edition of {'; '.join(r.same_work_as[:2])}, in your history]" if r.same_work_as else ""))
        if r.explanation is not None:
            click.echo(f"     {r.explanation.sentence}")
            e = r.explanation
            for reason in e.stated:
                click.echo(f"       {reason.describe()}")
                for p in reason.paths:
                    click.echo(f"         {p.describe(r.title)}")
            rest = len(e.reasons) - len(e.stated) + e.other_count
            if rest and e.score is not None:  # so that the lines add up to the score (the sentence states the largest)
                click.echo(f"       {e.score - sum(x.share for x in e.stated):+.4g}  {plural(rest, 'more reason')}, "
                           f"not stated (`kgrec explain --user {rec.user} --item {r.item}` lists the largest)"
                           + (", and your own interaction with it" if e.own else ""))
    if not no_store:
        click.echo(f"stored {len(rec.items)} RECOMMENDED edges")


def parse_history(text: str) -> list[tuple[str, float | None]]:
    """``--history``'s ``ITEM[:RATING],...`` as ``(item, rating or None)`` pairs. A rating is a number after the last
    colon; an id may hold colons itself (a dataset's id prefix, ``c2:B00…``), and one that ends in a colon and a
    number takes one more colon, with no rating after it (``part:5:`` is the item ``part:5``, implicit)."""
    pairs: list[tuple[str, float | None]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        item, sep, tail = part.rpartition(":")
        if sep and not tail.strip():  # a closing colon: no rating, the id is what comes before it
            pairs.append((item.strip(), None))
            continue
        try:
            rating = float(tail) if sep else None
        except ValueError:
            rating = None
        # (``nan`` and ``inf`` read as numbers: they are part of the id, as any other text)
        pairs.append((item.strip(), rating) if rating is not None and math.isfinite(rating) else (part, None))
    return pairs


def _recommend_session(settings: Settings, history: str, *, k: int, allow_repeats: bool, same_work: str | None,
                       as_json: bool, explain: bool, no_store: bool) -> None:
    from ..serve.recommend import recommend_session

    if explain:
        raise click.UsageError("--explain needs a user's stored paths: a --history list has none")
    pairs = parse_history(history)
    if not pairs:
        raise click.BadParameter("no item given", param_hint="--history")
    bad = [(i, r) for i, r in pairs if r is not None and not 0 <= r <= 5]
    if bad:  # (a usage error, as a bad number of any option is)
        raise click.BadParameter(f"the rating of {bad[0][0]!r} is {bad[0][1]:g}: a rating is a number 0-5 (>= 4 a "
                                 f"like, <= 2 a dislike); leave it out for an implicit interaction",
                                 param_hint="--history")
    from ..serve.scoring import UnknownItems

    with open_db(settings) as d:
        try:
            rec = recommend_session(d, pairs, k, allow_repeats=allow_repeats, same_work=same_work)
        except UnknownItems as e:
            if any(":" in i for i, _ in pairs):  # (an id may hold a colon: a rating is read only when it is a number)
                raise UnknownItems(f"{e} (a rating goes after the last colon as a number 0-5: ITEM:5; an id that "
                                   "ends in a colon and a number takes one more colon: ITEM:)") from None
            raise
    if as_json:
        echo_json(rec.model_dump())
        return
    click.echo(f"top {len(rec.items)} for a visitor with {plural(rec.interactions, 'item')} in the history (run "
               f"{rec.run}; {plural(rec.excluded, 'item')} of the history excluded; nothing stored)")
    for r in rec.items:
        click.echo(f"{r.rank:>3}. {r.item}  {r.score:8.4f}  {item_title(r.title, r.item)}"
                   + (f"  [another edition of {'; '.join(r.same_work_as[:2])}]" if r.same_work_as else ""))


def _recommend_all(settings: Settings, *, k: int, chunk: int, allow_repeats: bool, same_work: str | None,
                   as_json: bool) -> None:
    import sys
    import time

    from ..core.resources import cypher
    from ..serve.recommend import recommend_users

    with open_db(settings) as d:
        users = d.value(cypher("recommend/all_users")) or []
        t0 = time.perf_counter()
        with click.progressbar(length=len(users), label="recommend", file=sys.stderr) as bar:
            recs = recommend_users(d, users, k, store=True, allow_repeats=allow_repeats, chunk=chunk,
                                   same_work=same_work, on_chunk=bar.update)
        dt = time.perf_counter() - t0
    sources: dict[str, int] = {}
    for r in recs:
        sources[r.source] = sources.get(r.source, 0) + 1
    summary = {"users": len(recs), "edges": sum(len(r.items) for r in recs), "seconds": round(dt, 2),
               "users_per_s": round(len(recs) / dt, 1) if dt else None, "sources": sources,
               "run": recs[0].run if recs else None}
    if as_json:
        echo_json(summary)
        return
    click.echo(f"stored {summary['edges']} RECOMMENDED edges for {summary['users']} users of run {summary['run']} "
               f"in {dt:.1f}s ({summary['users_per_s']} users/s; " +
               ", ".join(f"{n} {s}" for s, n in sorted(sources.items())) + ")")


@click.command()
@click.option("--user", "user_id", required=True, help="User.id.")
@click.option("--item", "item_id", required=True, help="Item.id to explain (recommended or not).")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="List length that counts as recommended.")
@click.option("--paths", "per_item", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Concept paths shown per reason, besides its item link or interest edge; the verdict does not "
                   "depend on it.")
@click.option("--same-work", type=click.Choice(["demote", "group", "keep"]), default=None,
              help="Rank editions and ports of what the user owns as `kgrec recommend --same-work` lists them "
                   "(demote: after every other item). Default: the same_work setting.")
@json_option
@pass_settings
def explain(settings: Settings, user_id, item_id, k, per_item, same_work, as_json):
    """Why, or why not, an item is recommended to a user: score, rank, and the score split into reasons.

    The rank is the item's place in the list `kgrec recommend` gives (an edition or port of an item the
    user owns comes after every other item unless --same-work says otherwise). The score is the sum of
    one signed share per neighbour of the user: each interacted item (through the model and through its
    ITEM_LINK to the item), each interest, and the user's own learned profile.
    Reasons are listed by |share| with the stored paths that connect them to the item; a reason with no
    stored path says so. A clause's sign is its share's sign ("you disliked A, which still goes with it
    in the item graph" when the model counts that dislike for the item).

    \b
    Example:
      kgrec explain --user A2OAG0NE83ODBD --item B0018YDKBS
    """
    from ..serve.explain import explain as run_explain

    with open_db(settings) as d:
        rep = run_explain(d, user_id, item_id, k=k, per_item=per_item, same_work=same_work)
    if as_json:
        echo_json(rep.model_dump())
        return
    click.echo(rep.verdict)
    e = rep.explanation
    if e.reasons:
        click.echo(f"reasons (their shares add up to the score {e.score:+.4g}):")
        for reason in e.reasons:
            click.echo(f"  {reason.describe()}")
            for p in reason.paths:
                click.echo(f"      {p.describe(rep.title)}")
        if e.other_count:
            click.echo(f"  {e.other:+.4g}  {e.other_count} more reasons, each smaller")
        if e.own:
            click.echo(f"  {e.own:+.4g}  your own interaction with it (in its score, not a reason for or against it)")
    else:
        click.echo("nothing in the model connects this user and item")


@click.command()
@click.option("--user", "user_id", required=True, help="User.id.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="HTML file to write.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Recommendations shown.")
@click.option("--paths", "per_item", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Concept paths drawn per reason, besides its item link or interest edge.")
@click.option("--no-store", is_flag=True, help="Do not replace the user's stored RECOMMENDED edges.")
@pass_settings
def report(settings: Settings, user_id, out, k, per_item, no_store):
    """A self-contained HTML page: interest profile, recommendations with explanations, and an
    interactive graph of the explanation paths (works offline).

    \b
    Example:
      kgrec report --user A2OAG0NE83ODBD --out report.html
    """
    from ..serve.report import write_report

    with open_db(settings) as d:
        res = write_report(d, user_id, out, k=k, per_item=per_item, store=not no_store)
    click.echo(f"wrote {res.path} ({res.bytes / 1024:.0f} KiB): {res.recommendations} recommendations, "
               f"{res.paths} paths, graph of {res.nodes} nodes and {res.links} edges")


commands = [recommend, explain, report]
