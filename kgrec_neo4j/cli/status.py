"""``kgrec status``: what the graph holds, which run serves, and what ``kgrec update`` would do next."""

from __future__ import annotations

import click

from ..core.config import Settings
from ._common import echo_json, open_db, pass_settings


def _n(v: int) -> str:
    return f"{v:,}"


def _c(v: int, noun: str) -> str:
    """``1 user``, ``1,204 users``."""
    return f"{v:,} {noun}{'' if v == 1 else 's'}"


def _share(part: int, whole: int) -> str:
    """``part`` of ``whole`` in percent, one decimal; a share that rounds to 0.0% but is not nothing is "under 0.1%"."""
    share = part / max(whole, 1)
    return "under 0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


@click.command()
@click.option("--extractor", type=click.Choice(["auto", "llm", "offline"]), default="auto", show_default=True,
              help="Count items as extracted by this extractor, as `kgrec update --extractor` would.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_settings
def status(settings: Settings, extractor, as_json):
    """Where the graph stands: what it holds, which run serves, and what `kgrec update` would do next.

    Nothing is written. The pending work is what the next `kgrec update` finds: new or changed items to extract,
    interactions to classify, users whose interests follow older interactions, items without a vector of the
    serving run, an update cut short. Exit code 0 either way.

    \b
    Examples:
      kgrec status
      kgrec load ../shared/data/amazon-videogames-2018 --append && kgrec status && kgrec update
    """
    from ..status import graph_status

    with open_db(settings) as d:
        st = graph_status(d, settings, extractor=extractor)
    if as_json:
        echo_json(st.model_dump() | {"pending": st.pending.model_dump() | {"anything": st.pending.anything}})
        return
    c, p = st.counts, st.pending
    sets = ", ".join(f"{d['name']}" + ("" if d["status"] == "loaded" else f" ({d['status']})") for d in st.datasets)
    click.echo(f"graph:     {_n(c['users'])} users, {_n(c['items'])} items, {_n(c['interactions'])} interactions"
               + (f" (datasets: {sets})" if sets else " (nothing loaded: `kgrec load DIR`)"))
    click.echo(f"knowledge: pack {st.pack or '(none yet: `kgrec schema apply`)'}; {_n(c['items_extracted'])} items "
               f"extracted ({_n(c['items_failed'])} with an extraction error), {_n(c['mentions'])} mentions "
               f"({_n(c['mentions_pending'])} pending), {_n(c['concepts'])} concepts, {_n(c['knowledge_edges'])} "
               f"HAS_KNOWLEDGE, {_n(c['interest_edges'])} INTERESTED_IN")
    failed = [line for n, line in (
        (c["users_failed"], f"{_c(c['users_failed'], 'user')} whose Graph-RAG interests failed (reason in "
                            f"User.interests_error; `kgrec interests extract --extractor llm` goes on with them)"),
        (c["texts_failed"], f"{_c(c['texts_failed'], 'review text')} the classifier failed on (reason in "
                            f"INTERACTED.text_error; `kgrec interactions classify --classifier llm` retries them)"))
              if n]
    if failed:
        click.echo("failures:  " + "; ".join(failed))
    reads = {"train": "the train split (evaluation)", "every": "every interaction (serving)"}
    for ex, scope in st.interests.items():
        if scope.startswith("switching"):
            to = "serving" if scope.endswith("every") else "evaluation"
            flag = " --extractor llm" if ex == "llm" else ""
            click.echo(f"interests: the {ex} ones: a switch to {to} did not finish; `kgrec interests extract{flag} "
                       f"--for {to}` finishes it (kgrec update and training refuse to go on until then)")
        else:
            click.echo(f"interests: the {ex} ones read {reads.get(scope, scope)}")
    serving_interests = any(v.endswith("every") for v in st.interests.values())
    if st.run:
        r = st.run
        held = f", valid NDCG@10 {r['valid']:.4f}" if r.get("valid") is not None else ""
        click.echo(f"model:     run {r['run']} ({r['model']}, {r.get('mode') or '?'}{held}) trained {r['created']}, "
                   f"version {r['version']}; {_c(st.items_folded, 'item')} folded in since")
        if st.interactions_since_run:
            share = _share(st.interactions_since_run, c["interactions"])
            learn = ("`kgrec train --for serving --warm-start` learns from them"
                     if r.get("mode") == "serving" or serving_interests else
                     "`kgrec train --warm-start` learns from those in the train split (an evaluation run: valid and "
                     "test stay held out"
                     + ("; `kgrec interactions split` first, see splits below" if st.late_split_users else "")
                     + "), `kgrec train --for serving --warm-start` from every one")
            click.echo(f"           {_c(st.interactions_since_run, 'interaction')} ({share} of all) arrived since it "
                       f"was trained: served by fold-in; {learn}")
    elif st.run_problem:
        click.echo(f"model:     {st.run_problem}: recommendations need one")
    else:
        click.echo("model:     no run trained yet (`kgrec train`): recommendations need one")
    if st.late_split_users:
        click.echo(f"splits:    {_c(st.late_split_users, 'user')} with interactions recorded live (or written without "
                   f"seq, the latest) after their valid or test ones: evaluation (`kgrec train`, `kgrec evaluate`) "
                   f"refuses them until `kgrec interactions split` splits their histories again, last-two-out as a "
                   f"load does (serving reads every interaction as it is)")
    if st.last_update:
        u = st.last_update
        click.echo(f"updates:   last {u['id']}, finished {str(u['finished'])[:19].replace('T', ' ')} (ingest "
                   f"{u['ingest']}); ingest now {st.ingest}")
    else:
        click.echo(f"updates:   none yet; ingest now {st.ingest}")
    if st.writer:
        click.echo(f"writer:    {st.writer}")
    if not p.anything:
        click.echo("pending:   nothing: `kgrec update` would find nothing new")
        if p.items_failed_before:
            click.echo(f"           ({_c(p.items_failed_before, 'item')} whose extraction failed are extracted again "
                       f"by the next update with other work, or by `kgrec extract items`)")
        return
    lines = [
        (p.resume, f"update {p.resume} is at work now (the writer above): it does what is listed here"
         if p.running else f"update {p.resume} was cut short: the next update resumes it"),
        (p.items_to_extract, f"{_c(p.items_to_extract, 'new or changed item')} to extract with {p.extractor}"
         + (f" ({_n(p.items_failed_before)} failed before)" if p.items_failed_before else "")),
        (p.items_unhashed, f"{_c(p.items_unhashed, 'item')} without a stored text hash (hashed, then extracted if "
                           f"new)"),
        (p.interactions_new, f"{_c(p.interactions_new, 'interaction')} loaded since the last update to classify"),
        (p.interactions_unclassified, f"{_c(p.interactions_unclassified, 'interaction')} no classification has seen"),
        (p.users_changed, f"{_c(p.users_changed, 'user')} whose interests to recompute"),
        (p.mentions_unprojected, f"{_c(p.mentions_unprojected, 'mention')} to project onto the concepts"),
        (p.items_without_vector, f"{_c(p.items_without_vector, 'item')} without a vector of the current run, to fold "
                                 f"in"),
    ]
    shown = [text for cond, text in lines if cond]
    click.echo("pending:   " + shown[0])
    for text in shown[1:]:
        click.echo("           " + text)
    from ..extract.run import extractor_name

    # the work was counted for that extractor: a plain update that would use another is not the command for it
    flag = f" --extractor {p.extractor}" if p.extractor != extractor_name(settings, "auto") else ""
    # and it runs with the database's pack: with another, the update is refused before it does anything
    pack = f" --pack {st.pack_arg}" if st.pack_arg else ""
    click.echo("           wait for it to finish; `kgrec status` then shows what is left" if p.running
               else f"           run `kgrec{pack} update{flag}` to do it")


commands = [status]
