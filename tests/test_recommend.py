"""Recommendation from the current run's vectors and each user's live edges: exclusion, scores, storage, batch
API, cache, CLI (the fixture's run folds a known user in to the user's own vector)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _kg_fixture import RUN, invoke_cli

from kgrec_neo4j.core.errors import ModelError
from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import scoring as S


def _cli(args):
    return invoke_cli(args)


# -- pure helpers ---------------------------------------------------------------------------------

def test_top_k_excludes_and_orders():
    s = np.array([0.5, 3.0, 2.0, 3.0, -1.0])
    idx, val = S.top_k(s, 3, np.array([1]))
    assert idx.tolist() == [3, 2, 0] and val.tolist() == [3.0, 2.0, 0.5]
    idx, _ = S.top_k(s, 10, np.array([0, 1, 2, 3]))
    assert idx.tolist() == [4]  # k larger than what is left


def test_top_k_breaks_ties_at_the_kth_place_by_index_as_rank_of_does():
    """A popular user's list (interactions per item: many ties) of k=5 left out items tied at the 5th score that the
    list of k=10 ranked before it, and the explanation route, ranking as rank_of does, said the 5th item was #7 and
    not recommended: each list is the first k of the full ranking, and every item's rank is rank_of's."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = rng.integers(0, 4, size=200).astype(np.float32)
        exclude = rng.choice(200, size=10, replace=False)
        full, _ = S.top_k(s, 200, exclude)
        for k in (1, 5, 17, 60, 190, 300):
            idx, val = S.top_k(s, k, exclude)
            assert idx.tolist() == full[:k].tolist()
            assert [S.rank_of(s, j, exclude)[0] for j in idx.tolist()] == list(range(1, idx.size + 1))
        rows = np.stack([s, s[::-1]])
        rows[:, exclude] = -np.inf
        for (idx, _), row in zip(S.top_k_rows(rows, 9), rows, strict=True):
            assert idx.tolist() == S.top_k(row, 200)[0][:9].tolist()


def test_rank_of_counts_only_unseen():
    s = np.array([0.5, 3.0, 2.0, 1.0])
    assert S.rank_of(s, 2, np.array([1])) == (1, 3)
    assert S.rank_of(s, 0, np.array([1])) == (3, 3)
    assert S.rank_of(s, 1, np.array([1])) == (0, 3)  # excluded: no rank


def test_k_must_be_positive(db):
    with pytest.raises(ValueError, match="got 0"):
        R.recommend_users(db, ["x"], 0)


# -- against the graph ----------------------------------------------------------------------------

def test_scores_are_dot_products_and_every_interacted_item_excluded(db, kg):
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    rec = R.recommend(db, user, 10, store=False)
    assert rec.run == RUN and len(rec.items) == 10 and rec.source == "model"
    assert [r.rank for r in rec.items] == list(range(1, 11))
    train = set(kg["train"][user]) | {kg["heldout"][user]} | set(
        db.value("MATCH (:User {id: $u})-[:INTERACTED]->(i) RETURN collect(i.id)", u=user))
    assert rec.excluded == len(train)
    assert not train & {r.item for r in rec.items}
    u = kg["user_emb"][user]
    expected = {i: float(u @ v) for i, v in kg["item_emb"].items() if i not in train}
    best = sorted(expected.items(), key=lambda t: -t[1])[:10]
    assert [r.item for r in rec.items] == [i for i, _ in best]
    for r, (_, s) in zip(rec.items, best):
        assert r.score == pytest.approx(s, rel=1e-4, abs=1e-4)
    assert all(r.title for r in rec.items)


def test_held_out_items_are_history_in_serving(db, kg):
    # a user's held-out (valid / test) item is part of what the user did: never recommended back, even when it
    # would score best, unless repeats are allowed
    user, item = next(iter(sorted(kg["heldout"].items())))
    db.write("MATCH (i:Item {id: $i}) SET i.gnn_embedding = $e", i=item, e=(kg["user_emb"][user] * 50).tolist())
    try:
        S.clear_cache()
        assert item not in {r.item for r in R.recommend(db, user, 5, store=False).items}
        assert R.recommend(db, user, 5, store=False, allow_repeats=True).items[0].item == item
    finally:
        db.write("MATCH (i:Item {id: $i}) SET i.gnn_embedding = $e", i=item, e=kg["item_emb"][item].tolist())
        S.clear_cache()


def test_repeats_never_bring_back_an_item_the_user_only_disliked(db, kg):
    """`--allow-repeats` brought back the items a user had rated 1 or 2 stars, explained as "recommended again because
    you disliked" another item: a dislike is never answered with the same item again."""
    user, item = next(iter(sorted(kg["heldout"].items())))
    sign = "MATCH (:User {id: $u})-[x:INTERACTED]->(:Item {id: $i}) SET x.sign = $s"
    was = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->(:Item {id: $i}) RETURN x.sign", u=user, i=item)
    db.write("MATCH (i:Item {id: $i}) SET i.gnn_embedding = $e", i=item, e=(kg["user_emb"][user] * 50).tolist())
    try:
        db.write(sign, u=user, i=item, s=-1)
        S.clear_cache()
        rec = R.recommend(db, user, 5, store=False, allow_repeats=True)
        only_disliked = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->(i:Item) WITH i, max(coalesce(x.sign, 1)) AS "
                                 "best WHERE best < 0 RETURN count(i)", u=user)
        assert item not in {r.item for r in rec.items} and rec.excluded == only_disliked >= 1, rec
        db.write(sign, u=user, i=item, s=0)  # mixed feelings: a repeat may come back
        S.clear_cache()
        assert R.recommend(db, user, 5, store=False, allow_repeats=True).items[0].item == item
    finally:
        db.write(sign, u=user, i=item, s=was)
        db.write("MATCH (i:Item {id: $i}) SET i.gnn_embedding = $e", i=item, e=kg["item_emb"][item].tolist())
        S.clear_cache()


def test_store_replaces_previous_edges(db, kg):
    user = kg["users"][0]
    R.recommend(db, user, 8, store=True)
    rows = R.stored_recommendations(db, user)
    assert [r["rank"] for r in rows] == list(range(1, 9)) and {r["run"] for r in rows} == {RUN}
    rec = R.recommend(db, user, 3, store=True)
    rows = R.stored_recommendations(db, user)
    assert [(r["item"], r["rank"]) for r in rows] == [(x.item, x.rank) for x in rec.items]
    assert rows[0]["score"] == pytest.approx(rec.items[0].score)


def test_batch_api_matches_single_calls(db, kg):
    users = kg["users"][:6]
    batch = R.recommend_users(db, users, 5, store=False)
    assert [b.user for b in batch] == users
    for b in batch:
        single = R.recommend(db, b.user, 5, store=False)
        assert [r.item for r in single.items] == [r.item for r in b.items]


def test_run_model_is_cached_per_run(db, kg):
    a = S.run_model(db, RUN)
    b = S.run_model(db, RUN)
    assert a is b and a.vectors.shape == (kg["items"], 16)


def test_new_current_run_is_picked_up(db, kg):
    user = kg["users"][1]
    R.recommend(db, user, 3, store=False)  # warm: remembers RUN as current
    db.write("""MATCH (r:ModelRun {id: $old}) SET r.current = false
                MERGE (n:ModelRun {id: 'run-test-2'}) SET n.current = true""", old=RUN)
    try:
        with pytest.raises(ModelError, match="run-test-2.*no item embeddings"):  # the new run wrote none
            R.recommend(db, user, 3, store=False)
    finally:
        db.write("""MATCH (n:ModelRun {id: 'run-test-2'}) DETACH DELETE n
                    WITH 1 AS x MATCH (r:ModelRun {id: $old}) SET r.current = true""", old=RUN)
    assert R.recommend(db, user, 3, store=False).run == RUN


def test_errors_say_what_to_do(db, kg):
    with pytest.raises(S.RecommendError, match="unknown user.*nobody"):
        R.recommend(db, "nobody", 5)
    # MovieLens' user 13 is 'ml100k-u13': `kgrec recommend --user u13` and `kgrec explain --user u13` named only
    # `kgrec load`, while `kgrec users show` names the search that finds the id
    from kgrec_neo4j.serve import explain as E

    for call in (lambda: R.recommend(db, "u13", 5), lambda: E.explain(db, "u13", kg["train"][kg["users"][0]][0])):
        with pytest.raises(S.UnknownUser, match=r"find one with `kgrec users list` or `kgrec users search TEXT`"):
            call()
    db.write("MATCH (r:ModelRun {id: $run}) SET r.current = false", run=RUN)
    S.clear_cache()
    try:
        with pytest.raises(S.RecommendError, match="no current model run.*kgrec train"):
            R.recommend(db, kg["users"][0], 5)
    finally:
        db.write("MATCH (r:ModelRun {id: $run}) SET r.current = true", run=RUN)


# -- CLI ------------------------------------------------------------------------------------------

def test_cli_recommend_stores_edges(db, kg):
    user = kg["users"][2]
    res = _cli(["recommend", "--user", user, "-k", "4"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith(f"top 4 for user {user} (run {RUN};")
    assert [ln.split(".")[0].strip() for ln in lines[1:5]] == ["1", "2", "3", "4"]
    assert lines[-1] == "stored 4 RECOMMENDED edges"
    stored = R.stored_recommendations(db, user)
    assert [r["item"] for r in stored] == [ln.split()[1] for ln in lines[1:5]]


def test_cli_recommend_explain_and_errors(db, kg):
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    res = _cli(["recommend", "--user", user, "-k", "3", "--explain", "--no-store"])
    assert res.exit_code == 0, res.output
    assert "Recommended because" in res.output or "No stored path" in res.output
    assert not any(line.startswith("stored ") for line in res.output.splitlines())  # --no-store writes nothing
    bad = _cli(["recommend", "--user", "nobody"])
    assert bad.exit_code == 1 and "Error: unknown user(s): 'nobody'" in bad.output
    # a mistyped id: the error names where to find a valid one, as `kgrec users show` does (until 2026-12-04 these
    # named `kgrec load` alone, and `kgrec interests show` a Cypher query)
    item = kg["train"][user][0]
    for args in (["recommend", "--user", "nobody"], ["explain", "--user", "nobody", "--item", item],
                 ["report", "--user", "nobody", "--out", "nowhere.html"], ["interests", "show", "--user", "nobody"]):
        bad = _cli(args)
        assert bad.exit_code == 1 and "'nobody'" in bad.output and "`kgrec users list`" in bad.output, (args, bad.output)
    bad = _cli(["explain", "--user", user, "--item", "no-such-item"])
    assert bad.exit_code == 1 and "`kgrec items search TEXT`" in bad.output, bad.output


def test_cli_users_show_says_which_run_stored_the_list_when_and_that_the_user_moved_on(db, kg):
    user = kg["users"][4]
    R.recommend(db, user, 3, store=True)
    res = _cli(["users", "show", "--user", user])
    assert res.exit_code == 0, res.output
    head = next(ln for ln in res.output.splitlines() if ln.startswith("stored recommendations"))
    assert re.fullmatch(rf"stored recommendations \(run {RUN}, stored \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC\):", head)
    assert "newer than these recommendations" not in res.output
    # two later interactions, as Browser writes them: one with the next seq, one without a seq
    new = db.query("MATCH (u:User {id: $u}), (i:Item) WHERE NOT (u)-[:INTERACTED]->(i) "
                   "RETURN i.id AS id ORDER BY i.id LIMIT 2", u=user)
    db.write("MATCH (u:User {id: $u})-[x:INTERACTED]->() WITH u, max(x.seq) AS last "
             "MATCH (a:Item {id: $a}), (b:Item {id: $b}) "
             "CREATE (u)-[:INTERACTED {seq: last + 1, split: 'train', rating: 5.0, zz_test: true}]->(a), "
             "(u)-[:INTERACTED {split: 'train', rating: 5.0, zz_test: true}]->(b)",
             u=user, a=new[0]["id"], b=new[1]["id"])
    try:
        res = _cli(["users", "show", "--user", user])
        assert res.exit_code == 0, res.output
        assert "note: the user has 2 interactions newer than these recommendations" in res.output
        # the history's ratings as the data gives them (they printed as scores: 5.0000)
        assert re.search(rf"^29\s+train\s+\(new\)\s+5\s+{new[0]['id']}\s", res.output, re.M), res.output
        # their kind column said nothing: no classification has seen them yet
        assert "(new): 2 interactions recorded since the last `kgrec update`" in res.output, res.output
        assert f"`kgrec recommend --user {user}`" in res.output
        view = json.loads(_cli(["users", "show", "--user", user, "--json"]).output)
        assert view["recommended_run"] == RUN and view["interactions_since"] == 2
        assert view["recommended_at"].endswith("Z")
        R.recommend(db, user, 3, store=True)  # a list from the current history: nothing newer
        assert "newer than these" not in _cli(["users", "show", "--user", user]).output
    finally:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED {zz_test: true}]->() DELETE x", u=user)


def test_cli_users_show_shows_the_latest_interactions(db, kg):
    """--history N showed the user's first N interactions and nothing said there were more: what `kgrec load --append`
    or Browser added last was not shown."""
    user = max(kg["train"], key=lambda u: len(kg["train"][u]))
    seqs = sorted(db.value("MATCH (:User {id: $u})-[x:INTERACTED]->() RETURN collect(x.seq)", u=user))
    assert len(seqs) > 3
    out = _cli(["users", "show", "--user", user, "--history", "2"]).output
    assert f"history (the latest 2 of {len(seqs)}; --history {len(seqs)} shows all):" in out, out
    rows = out[out.index("history"):out.index("top interests:")].splitlines()[3:]
    assert [int(r.split()[0]) for r in rows] == seqs[-2:]  # in order
    view = json.loads(_cli(["users", "show", "--user", user, "--history", "2", "--json"]).output)
    assert [h["seq"] for h in view["history"]] == seqs[-2:]
    out = _cli(["users", "show", "--user", user, "--history", str(len(seqs))]).output
    assert "history:" in out and "the latest" not in out


def test_cli_listings_name_an_item_without_a_title(db, kg):
    user = kg["users"][5]
    top = R.recommend(db, user, 3, store=True).items[0].item  # stored
    seen = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->(i:Item) RETURN i.id ORDER BY x.seq DESC LIMIT 1", u=user)
    titles = {r["id"]: r["title"] for r in db.query("MATCH (i:Item) WHERE i.id IN $ids RETURN i.id AS id, "
                                                     "i.title AS title", ids=[top, seen])}
    db.write("MATCH (i:Item {id: $top}) SET i.title = ' '", top=top)  # a blank title
    db.write("MATCH (i:Item {id: $seen}) REMOVE i.title", seen=seen)  # none at all
    S.clear_cache()  # the run's model keeps the item titles it read
    try:
        out = _cli(["users", "show", "--user", user]).output
        history = out[out.index("history:"):out.index("top interests:")]
        stored = out[out.index("stored recommendations"):]
        assert f"(untitled {seen})" in history and f"(untitled {top})" in stored
        line = next(ln for ln in _cli(["recommend", "--user", user, "-k", "3", "--no-store"]).output.splitlines()
                    if f" {top} " in ln)
        assert line.rstrip().endswith(f"(untitled {top})")
        assert _cli(["items", "show", "--item", top]).output.splitlines()[0] == f"item {top}: (untitled {top})"
        assert f"(untitled {top})" in _cli(["items", "search", top]).output
        assert json.loads(_cli(["items", "search", top, "--json"]).output)[0]["title"] == " "  # the data as stored
    finally:
        db.write("UNWIND keys($t) AS id MATCH (i:Item {id: id}) SET i.title = $t[id]", t=titles)
        S.clear_cache()


def test_cli_items_show_counts_one_interaction_in_the_singular(db, kg):
    """`kgrec items show` of an item one user has said "1 interactions"."""
    one = db.value("MATCH (i:Item) WHERE COUNT { ()-[:INTERACTED]->(i) } = 1 RETURN i.id ORDER BY i.id LIMIT 1")
    out = _cli(["items", "show", "--item", one])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1].startswith("1 interaction; "), out.output


def test_cli_items_search_finds_a_title_whose_article_comes_last(db, kg):
    """`kgrec items search "The Godfather"` found nothing in MovieLens, which stores "Godfather, The (1972)"."""
    item = kg["train"][kg["users"][0]][0]
    title = db.value("MATCH (i:Item {id: $i}) RETURN i.title", i=item)
    db.write("MATCH (i:Item {id: $i}) SET i.title = 'Godfather, The (1972)'", i=item)
    try:
        for text in ("The Godfather", "the godfather", "Godfather", "godfather, the"):
            rows = json.loads(_cli(["items", "search", text, "--json"]).output)
            assert item in [r["item"] for r in rows], text
        assert json.loads(_cli(["items", "search", "A Godfather", "--json"]).output) == []
    finally:
        db.write("MATCH (i:Item {id: $i}) SET i.title = $t", i=item, t=title)


def test_a_user_is_recommended_items_of_their_own_dataset_only(db, kg):
    """A run trained over two datasets scores every item for every user: a walkthrough's Video Games user was
    recommended five Office products (and `kgrec explain` ranked an item "#1 of 3,307", over both catalogues). A
    user is now recommended, and ranked against, items of their own dataset only."""
    from kgrec_neo4j.serve import explain as E

    user = db.value("MATCH (u:User)-[:INTERACTED]->() RETURN u.id ORDER BY u.id LIMIT 1")
    before = R.recommend(db, user, 5, store=False).items
    top = before[0].item
    why_before = E.explain(db, user, top)
    clone = "other-shop-" + top
    # the same vectors as the user's best item, in another dataset: the run scores it as high as that item
    db.write("MATCH (i:Item {id: $top}) CREATE (c:Item {id: $clone, dataset: 'other-shop'}) "
             "SET c.title = 'Clone of ' + i.title, c.gnn_run = i.gnn_run, c.gnn_embedding = i.gnn_embedding, "
             "c.gnn_foldin = i.gnn_foldin, c.gnn_degree = i.gnn_degree", top=top, clone=clone)
    S.clear_cache()
    try:
        m, [st] = S.scoring_state(db, [user], None, links=False)
        assert clone in m.index and m.index[clone] in st.foreign.tolist()
        s = S.scores(m, [st])[0]
        assert s[m.index[clone]] == pytest.approx(s[m.index[top]])
        after = R.recommend(db, user, 5, store=False).items
        assert [r.item for r in after] == [r.item for r in before], (before, after)
        with pytest.raises(E.ExplainError, match="of dataset 'other-shop' and user .* of 'vg-slice'.*own dataset only"):
            E.explain(db, user, clone)
        why = E.explain(db, user, top)
        assert (why.rank, why.competing) == (why_before.rank, why_before.competing) == (1, why.competing)
        # a user without a dataset (typed in by hand) takes their items' one dataset
        db.write("MATCH (u:User {id: $u}) REMOVE u.dataset", u=user)
        assert [r.item for r in R.recommend(db, user, 5, store=False).items] == [r.item for r in before]
        db.write("MATCH (u:User {id: $u}) SET u.dataset = 'vg-slice'", u=user)
        # a user of a dataset the run holds no item of: an empty list that says so (it said "kgrec update folds
        # them in", which folds in nothing)
        db.write("MATCH (u:User {id: $u}) SET u.dataset = 'third-shop'", u=user)
        rec = R.recommend(db, user, 5, store=False)
        assert rec.items == [] and rec.run_lacks_dataset == "third-shop"
        r = _cli(["recommend", "--user", user, "--no-store"])
        assert "the run holds no item of the user's dataset 'third-shop'" in r.output, r.output
    finally:
        db.write("MATCH (u:User {id: $u}) SET u.dataset = 'vg-slice'", u=user)
        db.write("MATCH (c:Item {id: $clone}) DETACH DELETE c", clone=clone)
        S.clear_cache()


def test_a_call_from_python_only_reads_unless_asked_to_store(db, kg):
    """A request handler's `recommend(db, user)` rewrote the user's stored RECOMMENDED edges on every call."""
    user = kg["users"][1]
    db.write("MATCH (:User {id: $u})-[r:RECOMMENDED]->() DELETE r", u=user)
    assert R.recommend(db, user, 4).items and R.recommend_users(db, [user], 4)[0].items
    assert R.stored_recommendations(db, user) == []
    R.recommend(db, user, 4, store=True)
    assert len(R.stored_recommendations(db, user)) == 4


def test_cli_recommend_json_says_what_it_stored(db, kg):
    """`kgrec recommend --user U --json` rewrote the user's RECOMMENDED edges without a word of it (the text output
    ends with "stored N RECOMMENDED edges")."""
    user = kg["users"][6]
    out = json.loads(_cli(["recommend", "--user", user, "-k", "4", "--json"]).output)
    assert out["stored"] == 4 and len(R.stored_recommendations(db, user)) == 4
    assert json.loads(_cli(["recommend", "--user", user, "-k", "2", "--no-store", "--json"]).output)["stored"] == 0
    assert len(R.stored_recommendations(db, user)) == 4
