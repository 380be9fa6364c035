"""``kgrec interactions classify``, ``kgrec interests extract|show``, ``kgrec confidence report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..core.config import Settings
from ._common import (
    allow_failures_option,
    batch_size_option,
    echo_json,
    end_with_failures,
    min_confidence_option,
    open_db,
    pass_settings,
    plural,
    silent_option,
    take_lease,
    warn_unserved_model,
)


def _bar(silent: bool, desc: str, unit: str):
    """A ``progress(done, total)`` callback drawing a tqdm bar (nothing when silent)."""
    state: dict[str, Any] = {}  # "bar" -> tqdm bar

    def progress(done: int, total: int) -> None:
        if silent:
            return
        if "bar" not in state:
            from ..core.progress import bar as progress_bar

            state["bar"] = progress_bar(total=total, desc=desc, unit=unit, leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


# ------------------------------------------------------------------------------------------------
# interactions
# ------------------------------------------------------------------------------------------------

@click.group()
def interactions():
    """Interaction types: kind and sign of every INTERACTED edge."""


@interactions.command("classify")
@click.option("--classifier", type=click.Choice(["lexicon", "prototype", "llm", "rating"]), default="lexicon",
              show_default=True, help="Text classifier for edges with review text (rating = ratings only).")
@click.option("--kinds", "kinds", default=None,
              help="Kind names and signs, e.g. 'mixed=-1' or 'implicit:clicked=+1' or 'mixed:dislike'.")
@click.option("--prefer", type=click.Choice(["rating", "text"]), default="rating", show_default=True,
              help="Which side decides the kind when rating and text disagree (both are stored).")
@click.option("--implicit-confidence", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Confidence of edges with neither rating nor text.")
@click.option("--users", "max_users", type=click.IntRange(1), default=None, help="Only the first N users (by id).")
@allow_failures_option
@batch_size_option
@silent_option
@pass_settings
def classify(settings: Settings, classifier, kinds, prefer, implicit_confidence, max_users, allow_failures,
             batch_size, silent):
    """Give every INTERACTED edge a kind (like, dislike, mixed, implicit), a sign and a confidence.

    The rating decides by default; review text is classified too and stored next to it (kind_text,
    text_confidence, text_agrees), and kind_source says what decided. Idempotent.

    A review text the LLM classifier failed on leaves its edge decided by the rating alone (implicit without
    one) and keeps the reason in INTERACTED.text_error; the failures are counted by reason and the first named,
    everything is written, and running the command again retries them. Such a run exits with code 4 (0 with
    --allow-failures).

    \b
    Examples:
      kgrec interactions classify
      kgrec interactions classify --classifier llm --users 200
      kgrec interactions classify --kinds 'mixed=-1'
    """
    from ..users.interactions import KindScheme, classify_interactions, make_classifier
    from ..users.interests.store import user_ids

    try:
        scheme = KindScheme.parse(kinds)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--kinds") from None
    clf = make_classifier(classifier, settings, progress=not silent)
    try:
        with open_db(settings, writer="kgrec interactions classify") as d:
            if classifier == "prototype":  # its sentences are its pack's: another pack's are another domain's
                from ..core.schema import check_pack, load_pack

                check_pack(d, load_pack(settings.type_pack))
            users = user_ids(d, limit=max_users) if max_users else None
            rep = classify_interactions(d, clf, scheme=scheme, prefer=prefer, implicit_confidence=implicit_confidence,
                                        users=users, batch_size=batch_size or 2000,
                                        progress=_bar(silent, "classify texts", "edge"))
    finally:
        if clf is not None and hasattr(clf, "close"):
            clf.close()
    click.echo(f"classified {rep.edges} edges with {rep.classifier} in {rep.seconds:.1f}s: {rep.with_text} with text, "
               f"{rep.rating_only} rating only, {rep.implicit} implicit"
               + (f", {rep.text_failed} text failures" if rep.text_failed else ""))
    click.echo("kinds:   " + ", ".join(f"{k}={v}" for k, v in sorted(rep.kinds.items())))
    click.echo("sources: " + ", ".join(f"{k}={v}" for k, v in sorted(rep.sources.items())))
    if rep.text_agreement is not None:
        click.echo(f"text agrees with rating on {rep.agree} of {rep.agree + rep.disagree} rated texts "
                   f"({100 * rep.text_agreement:.1f}%)")
    stats = getattr(clf, "stats", None)
    if stats is not None:
        click.echo(f"llm: {stats.calls} calls, {stats.cache_hits} cache hits, {stats.failed} failed, "
                   f"{stats.prompt_tokens + stats.completion_tokens} tokens")
    reasons = dict(getattr(clf, "failures", None) or {})
    if rep.failed:
        from ..core.config import redact_in

        more = rep.text_failed - len(rep.failed)
        click.echo("failed review texts (each keeps its reason in INTERACTED.text_error; running the command again "
                   "retries them): "
                   + "; ".join(f"user {f['user']} seq {f['seq']}: {redact_in(f['error'], settings.llm_base_url)}"
                               for f in rep.failed)
                   + (f"; and {more} more" if more > 0 else ""), err=True)
    end_with_failures(rep.text_failed,
                      f"{plural(rep.text_failed, 'review text')} could not be classified"
                      + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
                      + "; their edges took the rating's kind (implicit without a rating), each keeps its reason "
                        "in INTERACTED.text_error, and every edge was written. Run the same command again to retry "
                        "them", allow=allow_failures)


@interactions.command("split")
@click.option("--dataset", default=None, help="Only the users of this dataset (default: every user).")
@pass_settings
def split(settings: Settings, dataset):
    """Split again, last-two-out as a load does, the histories that interactions recorded live have outgrown.

    A load (and an append) splits each history it touches: a user's latest interaction is test, the one before it
    valid. An interaction recorded live (`kgrec serve --writes`, POST /users/{user}/interactions, the README's
    Browser snippet) is a train interaction after them, and evaluation (`kgrec train`, `kgrec evaluate`) refuses
    such users, as they do a user with a train interaction without `seq` (typed in Browser: it counts as the
    latest). This command gives those users' interactions the split a load would give them now (and those of a
    history with two valid or test interactions, which `kgrec doctor` names), numbers the interactions without
    `seq` after the others, and stamps the users, so that the next
    `kgrec update` recomputes their interests. Serving is unchanged (it reads every interaction whatever its
    split). Idempotent.

    \b
    Examples:
      kgrec interactions split && kgrec update && kgrec train --warm-start
      kgrec interactions split --dataset amazon-videogames-2018
    """
    from ..load.split import split_again

    with open_db(settings) as d:  # the writer lease once there is something to split
        rep = split_again(d, dataset=dataset,
                          before_writing=lambda: take_lease(d, settings, "kgrec interactions split"))
    if not rep.users:
        click.echo("no history to split again: every history is split last-two-out"
                   + (f" in dataset {dataset!r}" if dataset else ""))
        return
    click.echo(f"split again: {plural(rep.users, 'user')} (e.g. {', '.join(map(repr, rep.examples))}), "
               f"{plural(rep.edges, 'interaction')} moved to another split, each history last-two-out as a load "
               f"splits it"
               + (f"; {plural(rep.numbered, 'interaction')} without seq numbered after the user's others"
                  if rep.numbered else "")
               + f". `kgrec update` recomputes their interests (ingest {rep.ingest})")


# ------------------------------------------------------------------------------------------------
# interests
# ------------------------------------------------------------------------------------------------

@click.group()
def interests():
    """User interests on the concept vocabulary (INTERESTED_IN)."""


@interests.command("extract")
@click.option("--extractor", type=click.Choice(["offline", "llm"]), default="offline", show_default=True)
@click.option("--for", "mode", type=click.Choice(["evaluation", "serving"]), default=None,
              help="evaluation: read the train split only (valid and test stay held out); serving: every interaction, "
                   "whatever its split, so that the newest count. Default: what the graph's interests read now "
                   "(evaluation on a new graph). Switching needs every user (and --restart with the LLM); "
                   "`kgrec update` keeps it, and an evaluation `kgrec train` refuses serving interests.")
@click.option("--users", "max_users", type=click.IntRange(1), default=None, help="Only the first N users (by id).")
@click.option("--user", "only_users", multiple=True, help="Only this user (repeatable).")
@click.option("--batch", type=click.IntRange(1), default=5, show_default=True, help="LLM: interactions per prompt.")
@click.option("--max-rounds", type=click.IntRange(1), default=None, help="LLM: stop after this many batches per user.")
@click.option("--restart", is_flag=True, help="LLM: forget earlier progress and edges of these users first.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="LLM: requests in flight.")
@click.option("--long-min-support", type=click.IntRange(1), default=2, show_default=True,
              help="Offline: min items per long-term interest.")
@click.option("--long-saturation", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True,
              help="Offline: net evidence (in interactions) at which a long-term weight reaches 1.")
@click.option("--short-window", type=click.IntRange(1), default=5, show_default=True, help="Offline: last N train interactions.")
@click.option("--short-decay", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Recency decay: offline, per step back in the short window (default 1.0: every interaction of "
                   "the window counts the same); LLM, of short-term weights per batch (default 0.7).")
@min_confidence_option
@allow_failures_option
@batch_size_option
@silent_option
@pass_settings
def extract(settings: Settings, extractor, mode, max_users, only_users, batch, max_rounds, restart, concurrency,
            long_min_support, long_saturation, short_window, short_decay, min_confidence, allow_failures, batch_size,
            silent):
    """Compute INTERESTED_IN edges from each user's TRAIN interactions (valid/test are never read), or, with
    --for serving, from every interaction.

    With the LLM, users whose request failed are named with their reason, which each keeps in User.interests_error,
    and keep the progress of their answered batches; everything else is written, and running the command again
    (without --restart) goes on with them. Such a run exits with code 4 (0 with --allow-failures).

    \b
    Examples:
      kgrec interests extract                          # offline, all users
      kgrec interests extract --extractor llm --users 100
      kgrec interests extract --min-confidence 0.5
      kgrec interests extract --for serving            # a serving graph: the newest interactions count too
    """
    from ..users.interests.scope import MODES
    from ..users.interests.store import check_users, user_ids

    minc = settings.min_confidence if min_confidence is None else min_confidence
    decay = {} if short_decay is None else {"short_decay": short_decay}  # (unset: each extractor's own default)
    with open_db(settings, writer="kgrec interests extract") as d:
        every = not only_users and max_users is None
        if only_users:
            check_users(d, list(only_users))
        users = list(only_users) or user_ids(d, limit=max_users)
        if extractor == "offline":
            from ..users.interests.offline import OfflineParams, extract_offline

            offline_params = OfflineParams(long_min_support=long_min_support, long_saturation=long_saturation,
                                           short_window=short_window,
                                           min_confidence=minc, **decay)
            off = extract_offline(d, params=offline_params, users=None if every else users,
                                  batch_size=batch_size, progress=_bar(silent, "interests", "user"),
                                  scope=MODES[mode] if mode else None)
            reads = "every interaction (serving)" if off.scope == "every" else "train interactions (evaluation)"
            click.echo(f"offline interests from {reads} for {plural(off.users, 'user')} in {off.seconds:.1f}s "
                       f"(read {off.read_s:.1f}s, compute {off.compute_s:.1f}s, write {off.write_s:.1f}s)")
            click.echo(f"edges: {off.edges} ({off.long} long, {off.short} short; {off.positive} positive, "
                       f"{off.negative} negative); users with interests: {off.users_with_interests}; written: "
                       f"{off.created} new, {off.changed} changed, {off.deleted} removed")
            return
        from ..core.schema import check_pack, load_pack
        from ..users.interests.graphrag import GraphRAGInterestExtractor, GraphRAGParams

        pack = load_pack(settings.type_pack)
        check_pack(d, pack)  # before the LLM endpoint is looked for: its prompt asks for the pack's types
        warn_unserved_model(settings)
        params = GraphRAGParams(batch=batch, max_rounds=max_rounds, min_confidence=minc, **decay)
        with GraphRAGInterestExtractor(d, settings, pack, params=params,
                                       progress=not silent, concurrency=concurrency) as ex:
            rep = ex.run(users, restart=restart, scope=MODES[mode] if mode else None, every_user=every)
    click.echo(f"graph-rag interests for {plural(rep.users, 'user')} in {rep.seconds:.1f}s: {rep.rounds} rounds, "
               f"{rep.requests} requests ({rep.failed_requests} failed), {rep.interactions} interactions read")
    click.echo(f"updates: {rep.updates} ({rep.matched_exact} exact, {rep.matched_projection} projected, "
               f"{rep.pending} pending mentions); graph-rag interest edges now: {rep.edges} (the offline "
               "extractor's are counted apart)")
    if rep.dropped:
        click.echo("dropped: " + ", ".join(f"{k}={v}" for k, v in sorted(rep.dropped.items())))
    s = rep.llm
    click.echo(f"llm: {s.calls} calls, {s.cache_hits} cache hits, {s.prompt_tokens} prompt + {s.completion_tokens} "
               f"completion tokens, retries {s.retries or 0}, failures {s.failures or 0}")
    if rep.failed_users:
        from ..core.config import redact_in

        more = len(rep.failed_users) - len(rep.failed)
        click.echo("failures: " + ", ".join(f"{k}: {v}" for k, v in sorted(rep.failures_by_reason.items())))
        click.echo(f"{plural(len(rep.failed_users), 'user')} failed and "
                   f"{'keeps' if len(rep.failed_users) == 1 else 'keep'} their progress (each keeps its reason in "
                   f"User.interests_error; running the command again without --restart goes on with them): "
                   + "; ".join(f"{f['user']}: {redact_in(f['error'], settings.llm_base_url)}" for f in rep.failed)
                   + (f"; and {more} more" if more > 0 else ""), err=True)
    end_with_failures(len(rep.failed_users),
                      f"{plural(len(rep.failed_users), 'user')} failed (named above, each keeps its reason in "
                      f"User.interests_error); the other users' interests were written. Run the same command again "
                      f"(without --restart) to retry them", allow=allow_failures)


@interests.command("show")
@click.argument("user_arg", metavar="[USER]", required=False)
@click.option("--user", "user_opt", default=None, help="User.id (find one with `kgrec users list`).")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True, help="Interests per horizon and polarity.")
@click.option("--extractor", type=click.Choice(["offline", "llm"]), default=None, help="Only this extractor's edges.")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save a bar chart to this PNG file.")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@min_confidence_option
@pass_settings
def show(settings: Settings, user_arg, user_opt, top, extractor, png, as_json, min_confidence):
    """Print a user's top interests by horizon and polarity, with weights and evidence items.

    The user is given with --user, as in every other command (a plain USER argument still works but is
    deprecated).

    \b
    Examples:
      kgrec interests show --user A2OAG0NE83ODBD
      kgrec interests show --user A2OAG0NE83ODBD --png profile.png --min-confidence 0.3
    """
    from ..users.interests.profile import build_profile, format_profile, save_png

    if user_arg and user_opt and user_arg != user_opt:
        raise click.UsageError(f"two users given ({user_arg!r} and --user {user_opt!r}); give only --user")
    if user_arg and not user_opt:
        click.echo(f"note: `kgrec interests show USER` is deprecated; use `kgrec interests show --user {user_arg}`",
                   err=True)
    user = user_opt or user_arg
    if not user:
        raise click.UsageError("give the user with --user ID (find one with `kgrec users list`)")

    minc = settings.min_confidence if min_confidence is None else min_confidence
    with open_db(settings) as d:
        prof = build_profile(d, user, top=top, extractor=extractor, min_confidence=minc)
    if as_json:
        echo_json(prof.model_dump())
    else:
        click.echo(format_profile(prof))
    if png:
        click.echo(f"saved {save_png(prof, png)}")


# ------------------------------------------------------------------------------------------------
# confidence
# ------------------------------------------------------------------------------------------------

@click.group()
def confidence():
    """Confidence of derived edges (HAS_KNOWLEDGE, INTERESTED_IN, INTERACTED)."""


@confidence.command("report")
@click.option("--edge-type", "edge_types", multiple=True,
              type=click.Choice(["HAS_KNOWLEDGE", "INTERESTED_IN", "INTERACTED"]),
              help="Only these edge types (default all three).")
@click.option("--bins", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@min_confidence_option
@pass_settings
def report(settings: Settings, edge_types, bins, as_json, min_confidence):
    """Distribution of edge confidence per edge type: counts, quantiles and a text histogram.

    \b
    Example:
      kgrec confidence report --min-confidence 0.5
    """
    from ..users.confidence import EDGE_TYPES, confidence_report, format_report

    minc = settings.min_confidence if min_confidence is None else min_confidence
    with open_db(settings) as d:
        rep = confidence_report(d, edge_types=edge_types or EDGE_TYPES, bins=bins, min_confidence=minc)
    if as_json:
        echo_json(rep.model_dump())
    else:
        click.echo(format_report(rep))


commands = [interactions, interests, confidence]
