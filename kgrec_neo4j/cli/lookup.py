"""``kgrec users list|search|show`` and ``kgrec items list|search|show``: find a user or an item to look at."""

from __future__ import annotations

import click

from ..core.config import Settings
from ._common import echo_json, echo_table, item_title, open_db, pass_settings, plural, with_titles

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
limit_option = click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
                            help="Rows to show.")


def _finders(group: click.Group, find: str, columns: list[str], list_help: str, search_help: str) -> None:
    """Add ``list`` and ``search TEXT`` to ``group``: the rows of ``serve.lookup.<find>`` as a table or JSON."""

    def show(settings: Settings, text: str | None, limit: int, as_json: bool) -> None:
        from ..serve import lookup

        with open_db(settings) as d:
            rows = getattr(lookup, find)(d, text, limit=limit)
        if as_json:
            echo_json(rows)
        else:
            echo_table(with_titles(rows) if "title" in columns else rows, columns)

    @group.command("list", help=list_help)
    @limit_option
    @json_option
    @pass_settings
    def list_(settings: Settings, limit, as_json):
        show(settings, None, limit, as_json)

    @group.command("search", help=search_help)
    @click.argument("text")
    @limit_option
    @json_option
    @pass_settings
    def search(settings: Settings, text, limit, as_json):
        show(settings, text, limit, as_json)


# ------------------------------------------------------------------------------------------------
# users
# ------------------------------------------------------------------------------------------------

@click.group()
def users():
    """Find users and look at one: history, interests, stored recommendations."""


_finders(users, "find_users", ["user", "interactions", "train", "interests", "recommended"],
         """The most active users: interactions, train interactions, interests and stored recommendations.

    \b
    Example:
      kgrec users list --limit 5
    """,
         """Users whose id contains TEXT (case-insensitive), the most active first.

    \b
    Example:
      kgrec users search A2OAG
    """)


@users.command("show")
@click.option("--user", "user_id", required=True, help="User.id (find one with `kgrec users list`).")
@click.option("--history", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="The user's latest interactions shown, in order.")
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Interests per horizon and polarity.")
@json_option
@pass_settings
def users_show(settings: Settings, user_id, history, top, as_json):
    """One user: the latest interactions in order (split, kind), top interests and stored recommendations (with the run
    and the time they were stored, and a note when the user has interactions newer than them).

    \b
    Example:
      kgrec users show --user A2OAG0NE83ODBD
    """
    from ..serve.lookup import show_user

    with open_db(settings) as d:
        v = show_user(d, user_id, history=history, top=top)
    if as_json:
        echo_json(v.model_dump())
        return
    click.echo(f"user {v.user}: {plural(v.interactions, 'interaction')} ({v.train} train), "
               f"{plural(v.interests, 'interest edge')}")
    click.echo("history:" if len(v.history) >= v.interactions else
               f"history (the latest {len(v.history)} of {v.interactions}; --history {v.interactions} shows all):")
    # a rating as the data gives it (4, 3.5), not as a score (4.0000); an interaction no classification has seen (the
    # service recorded it since the last `kgrec update`) has no kind yet: its kind column said nothing
    echo_table([{**r, "rating": None if r.get("rating") is None else f"{r['rating']:g}",
                 "kind": r.get("kind") or "(new)"} for r in with_titles(v.history)],
               ["seq", "split", "kind", "rating", "item", "title"])
    new = sum(1 for r in v.history if not r.get("kind"))
    if new:
        it = "it" if new == 1 else "them"
        click.echo(f"(new): {plural(new, 'interaction')} recorded since the last `kgrec update` (by the service or "
                   f"a Cypher write), which gives {it} a kind; recommendations count {it} already, signed by the rating")
    click.echo("top interests:")
    echo_table(v.top_interests, ["group", "type", "name", "weight", "confidence", "concept"])
    if not v.recommended:
        click.echo("stored recommendations: none (run `kgrec recommend --user ...` after `kgrec train`)")
        return
    when = (v.recommended_at.replace("T", " ").replace("Z", " UTC") if v.recommended_at else "at an unknown time")
    click.echo(f"stored recommendations (run {v.recommended_run}, stored {when}):")
    if v.interactions_since:
        n = v.interactions_since
        click.echo(f"note: the user has {n} interaction{'s' if n != 1 else ''} newer than these recommendations, "
                   f"which do not reflect {'them' if n != 1 else 'it'}; `kgrec recommend --user {v.user}` replaces "
                   f"them with a list from the current history")
    echo_table(with_titles(v.recommended), ["rank", "item", "score", "title"])


# ------------------------------------------------------------------------------------------------
# items
# ------------------------------------------------------------------------------------------------

@click.group()
def items():
    """Find items and look at one: knowledge points by type, concepts, item links."""


_finders(items, "find_items", ["item", "interactions", "points", "concepts", "title"],
         """The most interacted items, with their numbers of knowledge points and concepts.

    \b
    Example:
      kgrec items list --limit 5
    """,
         """Items whose title or id contains TEXT (case-insensitive), the most interacted first.

    \b
    Examples:
      kgrec items search spyro
      kgrec items search "dawn of the dragon" --limit 5
    """)


@items.command("show")
@click.option("--item", "item_id", required=True, help="Item.id (find one with `kgrec items search TEXT`).")
@click.option("--links", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Item links of the current run shown each way (outgoing and incoming).")
@json_option
@pass_settings
def items_show(settings: Settings, item_id, links, as_json):
    """One item: its knowledge points by type with their canonical concepts, and its strongest item links both ways
    (the items it leads to, and the items that lead to it: for an item `kgrec update` folded in, the links it
    borrowed from its nearest trained items, both ways).

    \b
    Example:
      kgrec items show --item B0018YDKBS
    """
    from ..serve.lookup import show_item

    with open_db(settings) as d:
        v = show_item(d, item_id, links=links)
    if as_json:
        echo_json(v.model_dump())
        return
    click.echo(f"item {v.item}: {item_title(v.title, v.item)}" + (f"  [{v.brand}]" if v.brand else ""))
    click.echo(f"{plural(v.interactions, 'interaction')}; "
               f"{plural(sum(len(p) for p in v.points.values()), 'knowledge point')}")
    for t, ps in sorted(v.points.items()):
        click.echo(f"  {t}:")
        for p in ps:
            concept = f" -> {p['concept_name']} ({p['concept']})" if p.get("concept") else " -> (no concept yet)"
            click.echo(f"    {p['text']}{concept}")
    if v.links:
        click.echo(f"item links out (run {v.links[0]['run']}: items it raises for a user who has it), strongest first:")
        echo_table([{**r, "borrowed": "borrowed" if r["borrowed"] else ""} for r in with_titles(v.links)],
                   ["item", "weight", "borrowed", "title"])
    if v.links_in:
        click.echo(f"item links in (run {v.links_in[0]['run']}: items that raise it for a user who has them), "
                   "strongest first:")
        echo_table([{**r, "borrowed": "borrowed" if r["borrowed"] else ""} for r in with_titles(v.links_in)],
                   ["item", "weight", "borrowed", "title"])
    if any(r["borrowed"] for r in v.links + v.links_in):
        click.echo("borrowed: a link into or out of an item new to the model, borrowed by `kgrec update` from its "
                   "nearest trained items")
    if not v.links and not v.links_in:
        click.echo("item links: none (the current run has none for this item, or no model is trained)")


commands = [users, items]
