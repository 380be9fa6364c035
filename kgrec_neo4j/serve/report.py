"""``kgrec report``: one self-contained HTML page per user (no network access needed).

The page holds the user's interest profile (inline SVG bars, drawn here), the recommendations with their
sentences and reasons (each score split into signed shares that add up to it, with the stored paths of each
reason), and an interactive graph of what carries each score: the stated reasons' edges, labelled with their
shares (ITEM_LINK edges included; a part with no stored path as a dashed link), laid out in layers (you →
your items and learned profile → concepts → recommended items), drawn by a small vanilla-JS script inlined
from ``report_assets/`` (draggable nodes, hover highlights; no CDN, no framework).

Public API: :func:`build_report` (the data), :func:`render_html` (the page), :func:`write_report` (both,
to a file).
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..core.db import Database
from ..core.errors import InputError
from ..core.outpath import check_out_path
from ..core.resources import cypher
from ..core.words import plural
from ..users.interests.store import Interest
from .explain import FAMILY_KINDS, INTEREST_KINDS, Explanation, ExplanationPath, Reason, _verb, interest_profile
from .recommend import UserRecommendations, recommend

ASSETS = Path(__file__).resolve().parent / "report_assets"
LAYERS = {"user": 0, "via": 1, "profile": 1, "concept": 2, "item": 3}


class GraphNode(BaseModel):
    id: str
    kind: str  # user | via | profile | concept | item
    label: str
    title: str = ""
    layer: int
    rank: int | None = None  # recommended items: their rank
    sign: int = 0  # via items: -1 when every interaction with it is a dislike; concepts: -1 for a negative interest
    items: list[str] = Field(default_factory=list)  # recommended items whose reasons use this node


class GraphLink(BaseModel):
    """One drawn edge: a stored relationship (``stored``; ``id`` is its element id), or a reason that acts
    through the model's embeddings only (type ``MODEL``, drawn dashed; no relationship in the graph)."""

    id: str
    source: str
    target: str
    type: str
    share: float  # the signed share it carries for the item where |share| is largest
    stored: bool = True
    shares: dict[str, float] = Field(default_factory=dict)  # recommended item id -> the share it carries there
    items: list[str] = Field(default_factory=list)


class GraphPath(BaseModel):
    """One reason of one item as the ids of its drawn links (for hover highlights)."""

    item: str
    reason: str
    kind: str
    share: float
    links: list[str]


class ExplanationGraph(BaseModel):
    nodes: list[GraphNode] = Field(default_factory=list)
    links: list[GraphLink] = Field(default_factory=list)
    paths: list[GraphPath] = Field(default_factory=list)


class ReportData(BaseModel):
    user: str
    run: str
    k: int
    created: str
    summary: dict[str, Any] = Field(default_factory=dict)
    profile: list[Interest] = Field(default_factory=list)
    recommendations: UserRecommendations
    graph: ExplanationGraph


class ReportResult(BaseModel):
    path: str
    user: str
    recommendations: int
    paths: int
    nodes: int
    links: int  # drawn edges: stored relationships and model-only links
    stored_links: int = 0  # of them, stored relationships
    bytes: int
    seconds: float


# ------------------------------------------------------------------------------------------ data

def explanation_graph(user_id: str, explanations: list[Explanation], ranks: dict[str, int]) -> ExplanationGraph:
    """What carries each item's score, drawn: every recommended item, and for each reason its sentence states
    the user's edge to the neighbour, the neighbour's stored paths to the item (ITEM_LINK with the item-graph
    part, shared concepts with the model part, or else concepts of one family joined by their BROADER edges), or a
    dashed ``MODEL`` link for a part with no stored path. Each edge carries the share it stands for."""
    nodes: dict[str, GraphNode] = {}
    links: dict[str, GraphLink] = {}
    paths: list[GraphPath] = []

    def node(key: str, kind: str, label: str, item: str, title: str = "", **kw: Any) -> str:
        n = nodes.get(key)
        if n is None:
            n = nodes[key] = GraphNode(id=key, kind=kind, label=label, title=title or label, layer=LAYERS[kind], **kw)
        if item not in n.items:
            n.items.append(item)
        return key

    def link(rid: str | None, src: str, dst: str, typ: str, share: float, item: str, used: list[str]) -> None:
        stored = rid is not None and typ != "MODEL"
        key = rid if stored and rid is not None else f"model:{src}->{dst}"
        ln = links.get(key)
        if ln is None:
            ln = links[key] = GraphLink(id=key, source=src, target=dst, type=typ, share=share, stored=stored)
        ln.shares[item] = ln.shares.get(item, 0.0) + share
        if abs(ln.shares[item]) >= abs(ln.share):
            ln.share = ln.shares[item]
        if item not in ln.items:
            ln.items.append(item)
        if key not in used:
            used.append(key)

    def family_links(p: ExplanationPath, c: str, ci: str, rels: list[str], share: float, item: str,
                     used: list[str]) -> None:
        """The BROADER edge(s) between the user's concept ``c`` and the item's ``ci``, narrower -> broader."""
        if p.family == "sibling":
            parent = node(f"concept:{p.parent}", "concept", p.parent_name, item)
            link(rels[0], c, parent, "BROADER", share, item, used)
            link(rels[1], ci, parent, "BROADER", share, item, used)
        elif p.family == "narrower":
            link(rels[0], ci, c, "BROADER", share, item, used)
        else:
            link(rels[0], c, ci, "BROADER", share, item, used)

    you = f"user:{user_id}"
    for e in explanations:
        item = e.item
        node(you, "user", "you", item)
        inode = node(f"item:{item}", "item", e.title or item, item, rank=ranks.get(item),
                     title=f"{e.title or item} (score {e.score:.4g})" if e.score is not None else "")
        for r in e.stated:
            used: list[str] = []
            if r.kind == "profile":
                p = node("profile", "profile", "your learned profile", item,
                         title="your own embedding, learned in training (no stored path)")
                link(None, you, p, "MODEL", r.share, item, used)
                link(None, p, inode, "MODEL", r.share, item, used)
            elif r.kind == "interest":
                c = node(f"concept:{r.id}", "concept", r.name, item, sign=-1 if (r.polarity or 1) < 0 else 0)
                link(r.rel, you, c, "INTERESTED_IN", r.share, item, used)
                has = [pth for pth in r.paths if pth.kind == "interest"]
                kin = [pth for pth in r.paths if pth.kind == "interest_family"]
                if has:
                    link(has[0].rels[1], inode, c, "HAS_KNOWLEDGE", r.share, item, used)
                elif kin:  # the item has a narrower (or broader) value of the interest
                    f = kin[0]
                    ci = node(f"concept:{f.item_concept}", "concept", f.item_concept_name, item)
                    family_links(f, c, ci, f.rels[1:2], r.share, item, used)
                    link(f.rels[2], inode, ci, "HAS_KNOWLEDGE", r.share, item, used)
                else:
                    link(None, c, inode, "MODEL", r.share, item, used)
            else:
                only_dislikes = (r.interaction or "").split("+") == ["dislike"]
                v = node(f"via:{r.id}", "via", r.name, item, title=f"{r.name} ({r.interaction})",
                         sign=-1 if only_dislikes else 1)
                link(r.rel, you, v, "INTERACTED", r.share, item, used)
                concepts = [pth for pth in r.paths if pth.kind == "shared_concept"]
                kin = [pth for pth in r.paths if pth.kind == "family_concept"]
                for pth in r.paths:
                    if pth.kind == "item_link":
                        link(pth.rels[1], v, inode, "ITEM_LINK", r.item_graph, item, used)
                for pth in concepts:  # evidence of the model part: each shared concept stands for all of it
                    c = node(f"concept:{pth.concept}", "concept", pth.concept_name, item)
                    link(pth.rels[1], v, c, "HAS_KNOWLEDGE", r.gnn, item, used)
                    link(pth.rels[2], inode, c, "HAS_KNOWLEDGE", r.gnn, item, used)
                for pth in kin:  # no shared concept: concepts of one family stand for the model part
                    c = node(f"concept:{pth.concept}", "concept", pth.concept_name, item)
                    ci = node(f"concept:{pth.item_concept}", "concept", pth.item_concept_name, item)
                    link(pth.rels[1], v, c, "HAS_KNOWLEDGE", r.gnn, item, used)
                    family_links(pth, c, ci, pth.rels[2:-1], r.gnn, item, used)
                    link(pth.rels[-1], inode, ci, "HAS_KNOWLEDGE", r.gnn, item, used)
                if r.gnn and not concepts and not kin:
                    link(None, v, inode, "MODEL", r.gnn, item, used)
            paths.append(GraphPath(item=inode, reason=r.name, kind=r.kind, share=r.share, links=used))
    return ExplanationGraph(nodes=list(nodes.values()), links=list(links.values()), paths=paths)


def build_report(db: Database, user_id: str, *, k: int = 10, per_item: int = 3, store: bool = False,
                 profile_limit: int = 30) -> ReportData:
    """Recommend and explain for ``user_id`` and gather everything the page shows."""
    recs = recommend(db, user_id, k, explain=True, store=store, per_item=per_item)
    summary = db.query(cypher("explain/user_summary"), user=user_id)
    exps = [r.explanation for r in recs.items if r.explanation is not None]
    graph = explanation_graph(user_id, exps, {r.item: r.rank for r in recs.items})
    return ReportData(user=user_id, run=recs.run, k=k, created=time.strftime("%Y-%m-%d %H:%M:%S"),
                      summary=summary[0] if summary else {}, profile=interest_profile(db, user_id, limit=profile_limit),
                      recommendations=recs, graph=graph)


# ------------------------------------------------------------------------------------------ html

def _esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _sentence_html(text: str) -> str:
    """Escape, then turn the sentence's *concept* marks into <em>."""
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", _esc(text))


def profile_svg(profile: list[Interest], width: int = 560) -> str:
    """Horizontal bars (weight × confidence) of the interests, positive blue, negative red."""
    if not profile:
        return ('<p class="muted">No interests are stored for this user yet (run <code>kgrec interests extract</code>, '
                'or <code>kgrec update</code> after a load).</p>')
    row, label_w, pad = 22, 230, 8
    bar_w = width - label_w - 60
    confidence = [1.0 if p.confidence is None else p.confidence for p in profile]  # as the profile query reads it
    top = max(abs(p.weight * c) for p, c in zip(profile, confidence)) or 1.0
    h = row * len(profile) + pad * 2
    parts = [f'<svg class="profile" viewBox="0 0 {width} {h}" width="{width}" height="{h}" role="img" '
             f'aria-label="interest profile">']
    for n, p in enumerate(profile):
        y = pad + n * row
        v = p.weight * confidence[n]
        w = max(2.0, bar_w * abs(v) / top)
        cls = "neg" if p.polarity < 0 else ("short" if p.horizon == "short" else "long")
        tip = (f"{p.name} ({p.type or 'concept'}) · {p.horizon}-term · polarity {p.polarity:+d} · "
               f"weight {p.weight:.2f} · confidence {confidence[n]:.2f}"
               + (f" · from {', '.join(t or '?' for t in p.evidence_titles[:3])}" if p.evidence_titles else ""))
        # the horizon in words: a negative bar is red in both, so a concept avoided in both horizons read as one
        # listed twice ("− 1990s 0.59", "− 1990s 0.45")
        recent = " · recent" if p.horizon == "short" else ""
        room = 30 - len(recent)  # (the label column's width)
        name = p.name if len(p.name) <= room else p.name[:room - 1] + "…"
        parts.append(
            f'<g class="bar {cls}"><title>{_esc(tip)}</title>'
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{"− " if p.polarity < 0 else ""}{_esc(name)}'
            f'{recent}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" rx="3"></rect>'
            f'<text class="val" x="{label_w + w + 5:.1f}" y="{y + 15}">{v:.2f}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _family_html(p: ExplanationPath) -> str:
    """The BROADER step(s) of a family path, from the user's concept to the item's."""
    if p.family == "sibling":
        return (f'<span class="rel">BROADER</span> <b>{_esc(p.parent_name)}</b> '
                f'<span class="rel">&larr; BROADER</span>')
    return '<span class="rel">&larr; BROADER</span>' if p.family == "narrower" else '<span class="rel">BROADER</span>'


def _path_html(p: ExplanationPath, title: str) -> str:
    # the relationship is INTERACTED, its kind a property (as the text path says: "you -INTERACTED(like)-> X"): the
    # page printed the kind where relationship names go ("you LIKE X ITEM_LINK Y", "you IMPLICIT X")
    kind = f' <span class="muted">({_esc(p.via_kind)})</span>' if p.via_kind else ""
    via = f'you <span class="rel">INTERACTED</span>{kind} {_esc(p.via_title)}'
    if p.kind == "item_link":
        chain = f'{via} <span class="rel">ITEM_LINK</span> {_esc(title)}'
        part = "item graph"
    else:
        start = ('you <span class="rel">INTERESTED_IN</span>' if p.kind in INTEREST_KINDS
                 else f'{via} <span class="rel">HAS_KNOWLEDGE</span>')
        concepts = f'<b>{_esc(p.concept_name)}</b>'
        if p.kind in FAMILY_KINDS:
            concepts += f' {_family_html(p)} <b>{_esc(p.item_concept_name)}</b>'
        chain = f'{start} {concepts} <span class="rel">HAS_KNOWLEDGE</span> {_esc(title)}'
        part = "model"
    note = p.evidence_note(3)
    if note:  # evidence of its item's model part, not a share (three such lines read as three shares that overcount)
        return f'<li class="path"><span class="part">{_esc(note)}:</span> {chain}</li>'
    return f'<li class="path"><span class="w">{p.share:+.3g}</span> <span class="part">{part}</span> {chain}</li>'


def _reason_html(r: Reason, title: str, stated: bool, implicit_verb: str) -> str:
    sign = "pos" if r.share > 0 else "neg"
    if r.kind == "item":  # worded as the sentence words it: "you had mixed feelings about", not "you mixed"
        what = (f'you {_esc(_verb(r.interaction, implicit_verb))} <b>{_esc(r.name)}</b> '
                f'<span class="muted">model {r.gnn:+.3g} · item graph {r.item_graph:+.3g}</span>')
    elif r.kind == "interest":
        what = (f'interest <b>{_esc(r.name)}</b> <span class="muted">{_esc(r.horizon or "long")}-term, '
                f'polarity {"+" if (r.polarity or 1) > 0 else "−"}</span>')
    else:
        what = _esc(r.name)
    # the removal check (explain.stated_reasons): deleting the reason's edges moves the score against its share, or
    # the reason is not stated; one that fails says so here (the page listed it like any other)
    check = "" if r.removal is None else f' <span class="check">{r.removal_text(3)}</span>'
    paths = "".join(_path_html(p, title) for p in r.paths) or '<li class="path muted">no stored path</li>'
    cls = f"reason {sign}" + (" stated" if stated else "") + (" disagrees" if r.disagrees else "")
    return (f'<li class="{cls}"><span class="w">{r.share:+.3g}</span> {what}{check}'
            f'<ul class="paths">{paths}</ul></li>')


def _recs_html(data: ReportData) -> str:
    out = []
    for r in data.recommendations.items:
        e = r.explanation
        title = r.title or r.item
        details = ""
        if e is not None and e.reasons:
            stated = {id(x) for x in e.stated}
            rows = "".join(_reason_html(x, title, id(x) in stated, e.implicit_verb) for x in e.reasons)
            if e.other_count:
                rows += (f'<li class="reason other"><span class="w">{e.other:+.3g}</span> '
                         f'{e.other_count} more reasons, each smaller</li>')
            details = (f'<details><summary>{plural(len(e.reasons) + e.other_count, "reason")}, '
                       f'{plural(len(e.paths), "stored path")}; the shares add up to the score</summary>'
                       f'<ul class="reasons">{rows}</ul></details>')
        out.append(
            f'<li class="rec" data-item="item:{_esc(r.item)}"><div class="head"><span class="rank">{r.rank}</span>'
            f'<span class="title">{_esc(title)}</span><span class="score">score {r.score:.3f}</span></div>'
            f'<p class="why">{_sentence_html(e.sentence if e else "")}</p>{details}</li>')
    return "".join(out) or '<li class="muted">No recommendation (you interacted with every item).</li>'


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _json_script(obj: Any) -> str:
    # `</` and U+2028/9 cannot break out of, or end, the inline <script> block
    return (json.dumps(obj, ensure_ascii=False).replace("</", "<\\/")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def header_counts(summary: dict) -> str:
    """``5 positive, 1 negative, 2 mixed, 4 without a rating or review`` (the last two only when there are some): a
    purchase without a rating was counted positive."""
    parts = [f'{summary.get("positive", 0)} positive', f'{summary.get("negative", 0)} negative']
    if summary.get("mixed"):
        parts.append(f'{summary["mixed"]} mixed')
    if summary.get("implicit"):
        parts.append(f'{summary["implicit"]} without a rating or review')
    return ", ".join(parts)


def _recs_caption(rec: UserRecommendations) -> str:
    """What the list's numbers are: shares of a model score, or, for a user the model has nothing of (the popular
    fallback), interaction counts (the page said "split into signed shares … every path was matched" above a list of
    popular items scored by their counts)."""
    if rec.source == "popular":
        return ("The user has no interactions or interests the model can read yet, so these are the most popular "
                "items: each score is how many users interacted with the item (not counting those who only disliked "
                "it). No reason is modelled for them.")
    return ("Each score is split into signed shares, one per reason, that add up to it; every path below was matched "
            "in the graph. Hover a recommendation to light up its reasons.")


def render_html(data: ReportData) -> str:
    """The whole page as one string: CSS, JS and data inlined (works offline, from a file:// URL)."""
    s = data.summary or {}
    stats = (f'{plural(s.get("interactions", 0), "interaction")} ({header_counts(s)}) · '
             f'{plural(s.get("interests", 0), "interest")} · '
             f'model run {_esc(data.run)} · {_esc(data.created)}')
    graph_json = _json_script(data.graph.model_dump())
    n_nodes = len(data.graph.nodes)
    n_stored = sum(1 for ln in data.graph.links if ln.stored)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kgrec · recommendations for {_esc(data.user)}</title>
<style>{_asset("report.css")}</style>
</head><body>
<header><h1>Recommendations for <code>{_esc(data.user)}</code></h1><p class="muted">{stats}</p></header>
<main>
<div class="col">
<section id="profile"><h2>Interest profile</h2>
<p class="muted">Stored <code>INTERESTED_IN</code> edges, weight × confidence; blue: long-term, teal: recent, red: negative.</p>
{profile_svg(data.profile)}</section>
<section id="recs"><h2>Top {data.k}, with their explanations</h2>
<p class="muted">{_recs_caption(data.recommendations)}</p>
<ol class="recs">{_recs_html(data)}</ol></section>
</div>
<section id="graph-section"><h2>Explanation graph</h2>
<p class="muted">{n_nodes} nodes, {n_stored} stored relationships and {len(data.graph.links) - n_stored} model-only
links. An ITEM_LINK is labelled with its exact item-graph part of the score; a concept edge with the model part of
the reason it is evidence of, drawn on each of that reason's concepts, so the labels at an item do not add up to its
score (the list gives each reason's share once); width follows |label|. Green edges count for the item, red
ones against it; dashed edges have no stored path (they act through the model's embeddings). Drag nodes; hover to
highlight.</p>
<div id="legend"><span style="--c: var(--user)">you</span><span style="--c: var(--pos)">item you interacted with</span>
<span style="--c: var(--neg)">item you only disliked / negative interest</span><span style="--c: var(--concept)">concept</span>
<span style="--c: var(--profile)">your learned profile</span><span style="--c: var(--item)">recommended item</span></div>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" data-expected-nodes="{n_nodes}"></svg>
<noscript><p class="muted">The explanation graph needs JavaScript.</p></noscript>
</section>
</main>
<script type="application/json" id="kgrec-graph">{graph_json}</script>
<script>{_asset("graph.js")}</script>
</body></html>
"""


def write_report(db: Database, user_id: str, out: str | Path, *, k: int = 10, per_item: int = 3,
                 store: bool = False) -> ReportResult:
    """Build the report of ``user_id`` and write it to ``out`` (an .html file; missing folders are made).

    Raises:
        InputError: ``out`` names a folder or lies under a file (before anything is read or stored), or the file
            cannot be written there.
    """
    t0 = time.perf_counter()
    path = check_out_path(out, folder=False, example="--out reports/report.html")
    data = build_report(db, user_id, k=k, per_item=per_item, store=store)
    page = render_html(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as e:
        raise InputError(f"the report page cannot be written there ({e.strerror or e}); choose another --out",
                         source=str(path)) from None
    return ReportResult(path=str(path), user=user_id, recommendations=len(data.recommendations.items),
                        paths=sum(len(r.explanation.paths) for r in data.recommendations.items if r.explanation),
                        nodes=len(data.graph.nodes), links=len(data.graph.links),
                        stored_links=sum(1 for ln in data.graph.links if ln.stored),
                        bytes=len(page.encode("utf-8")), seconds=time.perf_counter() - t0)
