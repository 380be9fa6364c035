"""The report page: self-contained, its data matches the explanations, and it renders in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from kgrec_neo4j.serve import recommend as R
from kgrec_neo4j.serve import report as P

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def page(db, kg, tmp_path_factory):
    """The report of the user with the most interests (a rich explanation graph)."""
    user = db.value("""MATCH (u:User)-[:INTERESTED_IN]->() WITH u, count(*) AS n
                       RETURN u.id ORDER BY n DESC, u.id LIMIT 1""")
    out = tmp_path_factory.mktemp("report") / "report.html"
    res = P.write_report(db, user, out, k=10, store=True)
    return user, out, res


def _chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _graph_json(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="kgrec-graph">(.*?)</script>', html, re.S)
    assert m, "graph data block missing"
    return json.loads(m.group(1))


def test_page_is_self_contained(page):
    _, out, res = page
    html = out.read_text(encoding="utf-8")
    assert res.bytes == len(html.encode("utf-8")) and res.recommendations == 10
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|url\(", html)
    # the only URL is the SVG namespace
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {"http://www.w3.org/2000/svg"}
    # counts in words: a reason list's summary said '19 stored path(s)'
    assert "(s)" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert re.search(r"<summary>\d+ reasons?, \d+ stored paths?; the shares add up", html)


def test_graph_data_matches_the_explanations(db, page):
    user, out, res = page
    graph = _graph_json(out.read_text(encoding="utf-8"))
    stored = R.stored_recommendations(db, user)
    assert len(stored) == 10  # the report stored what it shows
    ids = {n["id"] for n in graph["nodes"]}
    assert len(ids) == len(graph["nodes"]) == res.nodes
    assert f"user:{user}" in ids
    assert all(ln["source"] in ids and ln["target"] in ids for ln in graph["links"])
    link_ids = {ln["id"] for ln in graph["links"]}
    assert len(link_ids) == len(graph["links"]) == res.links
    assert sum(ln["stored"] for ln in graph["links"]) == res.stored_links
    assert all(set(p["links"]) <= link_ids for p in graph["paths"])
    # every recommended item is drawn, whatever carries its score
    items = {n["id"] for n in graph["nodes"] if n["kind"] == "item"}
    assert items == {f"item:{r['item']}" for r in stored}
    # every stored link of the graph is one relationship of the database
    stored_ids = [ln["id"] for ln in graph["links"] if ln["stored"]]
    found = db.value("UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id RETURN count(r)", ids=stored_ids)
    assert found == len(stored_ids)
    # each drawn reason is a stated reason of its item, with its share
    recs = R.recommend(db, user, 10, store=False, explain=True)
    stated = {(f"item:{r.item}", x.name): x.share for r in recs.items for x in r.explanation.stated}
    assert {(p["item"], p["reason"]) for p in graph["paths"]} == set(stated)
    for p in graph["paths"]:
        assert p["share"] == pytest.approx(stated[(p["item"], p["reason"])], rel=1e-5, abs=1e-6)


def test_item_links_are_drawn_with_their_shares():
    from kgrec_neo4j.serve import explain as E

    r = E.Reason(kind="item", id="a", name="Halo 3", share=21.3, gnn=0.0, item_graph=21.3, interaction="dislike",
                 rel="x1", paths=[E.ExplanationPath(kind="item_link", share=21.3, user="u", item="X", via="a",
                                                    via_title="Halo 3", via_kind="dislike", rels=["x1", "l1"],
                                                    link_weight=3.0)])
    p = E.Reason(kind="profile", name="your taste profile learned in training", share=3.8, gnn=3.8)
    e = E.Explanation(user="u", item="X", title="Industrial", score=25.1, reasons=[r, p], abs_total=25.1)
    g = P.explanation_graph("u", [e], {"X": 1})
    by_type = {ln.type: ln for ln in g.links}
    assert by_type["ITEM_LINK"].id == "l1" and by_type["ITEM_LINK"].share == pytest.approx(21.3)
    assert by_type["INTERACTED"].stored and by_type["INTERACTED"].share == pytest.approx(21.3)
    assert not by_type["MODEL"].stored  # the profile has no stored path: drawn dashed, with its share
    assert {n.kind for n in g.nodes} == {"user", "via", "profile", "item"}
    assert next(n for n in g.nodes if n.kind == "via").sign == -1  # only disliked
    # a path names the relationship INTERACTED and its kind as a property, as the text path does: the page put the
    # kind where relationship names go ("you DISLIKE Halo 3 ITEM_LINK Industrial")
    html = P._path_html(r.paths[0], "Industrial")
    assert ('you <span class="rel">INTERACTED</span> <span class="muted">(dislike)</span> Halo 3 '
            '<span class="rel">ITEM_LINK</span> Industrial') in html, html


def test_a_reason_line_words_the_interaction_as_the_sentence_does():
    """The page's reason lines read "you mixed City of Angels" for a 3-star rating, and "you implicit X" for an
    interaction without one: the interaction's kind, not its verb."""
    from kgrec_neo4j.serve import explain as E

    for kind, words in [("mixed", "you had mixed feelings about <b>City of Angels</b>"),
                        ("dislike", "you disliked <b>City of Angels</b>"), ("like", "you liked <b>City of Angels</b>"),
                        ("implicit", "you watched <b>City of Angels</b>")]:
        r = E.Reason(kind="item", id="a", name="City of Angels", share=0.85, gnn=0.13, item_graph=0.72,
                     interaction=kind)
        e = E.Explanation(user="u", item="X", title="Man in the Iron Mask", score=0.85, reasons=[r], abs_total=0.85,
                          implicit_verb="watched")
        recs = R.UserRecommendations(user="u", run="r", items=[R.Recommendation(rank=1, item="X", score=0.85,
                                                                                  title=e.title, explanation=e)])
        page = P.render_html(P.ReportData(user="u", run="r", k=1, created="now", recommendations=recs,
                                          graph=P.explanation_graph("u", [e], {"X": 1})))
        assert words in page, kind


def test_a_reason_whose_removal_disagrees_is_marked_on_the_page_and_in_the_cli():
    """A reason whose removal check fails (deleting its edges raises the score of an item it is a reason for) is
    never stated; the page listed it like a checked one, with nothing to say why the sentence leaves it out. Both
    the page and `kgrec explain` now give the removal effect and say when it disagrees."""
    from kgrec_neo4j.serve import explain as E

    good = E.Reason(kind="item", id="a", name="Far Cry", share=2.0, gnn=0.1, item_graph=1.9, interaction="like",
                    removal=1.8)
    bad = E.Reason(kind="interest", id="c", name="shooter", share=1.0, horizon="short", polarity=1, removal=-0.25)
    e = E.Explanation(user="u", item="X", title="Far Cry 2", score=3.0, reasons=[good, bad], abs_total=3.0)
    assert not good.disagrees and bad.disagrees
    assert [r.name for r in E.stated_reasons(e)[0]] == ["Far Cry"]
    recs = R.UserRecommendations(user="u", run="r", items=[R.Recommendation(rank=1, item="X", score=3.0,
                                                                              title=e.title, explanation=e)])
    page = P.render_html(P.ReportData(user="u", run="r", k=1, created="now", recommendations=recs,
                                      graph=P.explanation_graph("u", [e], {"X": 1})))
    rows = re.findall(r'<li class="(reason [^"]*)"><span class="w">([^<]*)</span>(.*?)<ul class="paths">', page)
    by_share = {w: (cls, body) for cls, w, body in rows}
    cls, body = by_share["+2"]
    assert "stated" in cls.split() and "disagrees" not in cls.split()
    assert "removing it: score -1.8" in body and "not stated" not in body
    cls, body = by_share["+1"]
    assert "disagrees" in cls.split() and "stated" not in cls.split()
    assert "removing it: score +0.25; not the way its share says: not stated" in body
    assert "not the way its share says: not stated" in bad.describe()
    assert "not stated" not in good.describe() and "removing it: score -1.8" in good.describe()


def test_a_user_without_interests_is_told_the_command_that_extracts_them():
    """The page named `kgrec interests`, a group that only prints its help."""
    import click

    from kgrec_neo4j.cli import cli

    cmds = re.findall(r"<code>kgrec ([^<]+)</code>", P.profile_svg([]))
    assert cmds
    for c in cmds:
        cmd: click.Command = cli
        for word in c.split():
            assert isinstance(cmd, click.Group) and word in cmd.commands, c
            cmd = cmd.commands[word]
        assert not isinstance(cmd, click.Group), f"`kgrec {c}` only prints its help"


def test_escaping_cannot_break_the_page():
    s = P._json_script({"t": "</script><script>alert(1)</script>\u2028"})
    assert "</script>" not in s and json.loads(s)["t"].startswith("</script>")
    assert P._sentence_html("a <b> *c&d*") == "a &lt;b&gt; <em>c&amp;d</em>"


def test_chromium_renders_the_graph(page, tmp_path):
    _, out, res = page
    dom = _chromium("--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    svg = re.search(r'<svg id="graph".*?</svg>', html, re.S)
    assert svg, "graph SVG missing from the rendered DOM"
    body = svg.group(0)
    assert f'data-rendered-nodes="{res.nodes}"' in body  # set by the script after drawing
    assert len(re.findall(r'<g class="node [^"]*"', body)) == res.nodes
    assert len(re.findall(r'<path class="link ', body)) == res.links
    assert len(re.findall(r'<text class="share', body)) == res.links  # every edge shows its share
    assert len(re.findall(r'<g class="bar ', html)) >= 1  # the interest profile chart

    shot = tmp_path / "report.png"
    r = _chromium(f"--screenshot={shot}", "--window-size=1400,1000", out.as_uri())
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(shot)[:, :, :3]
    assert img.shape[:2] == (1000, 1400)
    # the graph (right column) shows the recommended-item nodes in their orange: ~200 pixels per node
    right = img[:, 700:]
    orange = np.abs(right - np.array([0xD9, 0x77, 0x06]) / 255).sum(-1) < 0.08
    n_items = sum(1 for n in _graph_json(out.read_text(encoding="utf-8"))["nodes"] if n["kind"] == "item")
    assert orange.sum() > 100 * n_items > 0


def test_cli_report(db, kg, tmp_path):
    user = kg["users"][3]
    out = tmp_path / "sub" / "r.html"
    from kgrec_neo4j.cli import cli

    res = CliRunner().invoke(cli, ["report", "--user", user, "--out", str(out), "-k", "5", "--no-store"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"wrote {out} (") and "5 recommendations" in res.output
    assert out.is_file() and "<svg id=\"graph\"" in out.read_text(encoding="utf-8")


def test_cli_report_to_a_place_it_cannot_write_says_so(db, kg, tmp_path):
    """`kgrec report --out` under a file died with a traceback (NotADirectoryError), and `--out reports/` (a folder
    that does not exist yet) wrote the page as a file named `reports`."""
    from kgrec_neo4j.cli import cli

    user = kg["users"][3]
    (tmp_path / "notes.txt").write_text("x")
    for out, words in ((tmp_path / "notes.txt" / "r.html", "cannot be written there"),
                       (f"{tmp_path / 'reports'}/", "is a folder")):
        res = CliRunner().invoke(cli, ["report", "--user", user, "--out", str(out), "--no-store"])
        assert res.exit_code == 1 and isinstance(res.exception, SystemExit), (res.output, res.exception)  # no traceback
        assert res.output.startswith(f"Error: {out}: ") and words in res.output, res.output
    assert not (tmp_path / "reports").exists() and (tmp_path / "notes.txt").read_text() == "x"


def test_the_header_counts_a_purchase_without_a_rating_apart(db, kg):
    """The page's header said '12 interactions (12 positive, 0 negative)' of a history of unrated purchases: an
    interaction with neither rating nor review is counted as such; one the service recorded and no classification has
    seen yet takes its sign from its rating."""
    from kgrec_neo4j.core.resources import cypher

    items = db.value("MATCH (i:Item) WITH i ORDER BY i.id LIMIT 5 RETURN collect(i.id)")
    edges = [{"item": items[0], "rating": 5.0, "sign": 1, "source": "rating"},     # a like
             {"item": items[1], "rating": None, "sign": 1, "source": "none"},      # a purchase, classified
             {"item": items[2], "rating": 3.0, "sign": 0, "source": "rating"},     # mixed
             {"item": items[3], "rating": 1.0, "sign": None, "source": None},      # posted, not classified: a dislike
             {"item": items[4], "rating": None, "sign": None, "source": None}]     # posted without a rating
    db.write("CREATE (:User {id: 'header-user'})")
    try:
        db.write("UNWIND $edges AS e MATCH (u:User {id: 'header-user'}), (i:Item {id: e.item}) "
                 "CREATE (u)-[x:INTERACTED]->(i) SET x.rating = e.rating, x.sign = e.sign, x.kind_source = e.source",
                 edges=edges)
        [s] = db.query(cypher("explain/user_summary"), user="header-user")
        assert (s["interactions"], s["positive"], s["negative"], s["mixed"], s["implicit"]) == (5, 1, 1, 1, 2), s
        assert P.header_counts(s) == "1 positive, 1 negative, 1 mixed, 2 without a rating or review"
        assert P.header_counts({"positive": 3, "negative": 0}) == "3 positive, 0 negative"
    finally:
        db.write("MATCH (u:User {id: 'header-user'}) DETACH DELETE u")


def test_the_profile_tells_the_two_horizons_of_an_avoided_concept_apart():
    """A concept avoided in both horizons read as one listed twice ("− 1990s 0.59", "− 1990s 0.45"): a negative bar
    is red whatever its horizon, which only the tooltip gave."""
    from kgrec_neo4j.users.interests.store import Interest

    svg = P.profile_svg([Interest(concept_id="c", name="1990s", horizon=h, polarity=-1, weight=w, confidence=1.0)
                         for h, w in (("long", 0.59), ("short", 0.45))])
    labels = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
    assert labels == ["− 1990s", "− 1990s · recent"], labels


def test_a_popular_list_is_not_captioned_as_shares_of_a_model_score():
    """A user without edges got "Each score is split into signed shares … every path below was matched in the
    graph" above a list of popular items scored by their interaction counts."""
    popular = P._recs_caption(R.UserRecommendations(user="u", run="r", source="popular"))
    assert "most popular items" in popular and "signed shares" not in popular
    assert "signed shares" in P._recs_caption(R.UserRecommendations(user="u", run="r", source="model"))


def test_a_concept_path_on_the_page_is_evidence_not_a_share():
    """Under "+1.51 you liked Star Wars" the page listed "+0.815 item graph …", "+0.697 model … Sci-Fi", "+0.697 model
    … war", "+0.697 model … Adventure": 2.9 for a reason of 1.51. Each concept path carries its item's whole model
    part; the CLI said "supports its model part +0.6973", the page now says the same."""
    from kgrec_neo4j.serve.explain import ExplanationPath

    def path(kind, share, **kw):
        return ExplanationPath(kind=kind, share=share, user="u", item="i", via="j", via_title="Star Wars",
                               via_kind="like", rels=[], **kw)

    concept = P._path_html(path("shared_concept", 0.6973, concept="c", concept_name="Sci-Fi"), "Empire")
    assert "supports its model part +0.697:" in concept and 'class="w"' not in concept, concept
    link = P._path_html(path("item_link", 0.815, link_weight=0.01), "Empire")
    assert '<span class="w">+0.815</span>' in link, link


def test_the_graph_caption_does_not_promise_labels_that_add_up():
    """The caption said "Each edge is labelled with the share of the score it carries", while one reason's model part
    is drawn on each of its concept edges: the labels at one item added to 6.37 for a score of 4.23."""
    from kgrec_neo4j.serve.explain import Explanation

    recs = R.UserRecommendations(user="u", run="r")
    page = P.render_html(P.ReportData(user="u", run="r", k=1, created="now", recommendations=recs,
                                      graph=P.explanation_graph("u", [Explanation(user="u", item="i", title="T")], {})))
    assert "the share of the score it carries" not in page
    assert "so the labels at an item do not add up to its\nscore" in page
