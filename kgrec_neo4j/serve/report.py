"""``kgrec report``: one self-contained HTML page per user (no network access needed).

The page holds the user's interest profile (inline SVG bars, drawn here), the recommendations with their
explanation sentences and paths, and an interactive graph of the explanation subgraph: every node and
edge of every path shown, laid out in layers (you → items you liked or disliked → concepts →
recommended items), drawn by a small vanilla-JS script inlined from ``report_assets/`` (draggable
nodes, hover highlights; no CDN, no framework).

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
from ..core.resources import cypher
from ..users.interests.store import Interest
from .explain import Explanation, interest_profile
from .recommend import UserRecommendations, recommend

ASSETS = Path(__file__).resolve().parent / "report_assets"
LAYERS = {"user": 0, "via": 1, "concept": 2, "item": 3}


class GraphNode(BaseModel):
    id: str
    kind: str  # user | via | concept | item
    label: str
    title: str = ""
    layer: int
    rank: int | None = None  # recommended items: their rank
    sign: int = 0  # via items: +1 liked, -1 disliked; concepts: sign of the interest if any
    items: list[str] = Field(default_factory=list)  # recommended items whose paths use this node


class GraphLink(BaseModel):
    id: str  # relationship element id (one link per stored relationship)
    source: str
    target: str
    type: str
    sign: int
    weight: float
    items: list[str] = Field(default_factory=list)


class GraphPath(BaseModel):
    """One explanation path as the ids of its links (path order), for hover highlights."""

    item: str
    kind: str
    sign: int
    weight: float
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
    links: int
    bytes: int
    seconds: float


# ------------------------------------------------------------------------------------------ data

def explanation_graph(user_id: str, explanations: list[Explanation], ranks: dict[str, int]) -> ExplanationGraph:
    """The union of the explanation paths as nodes and links (one link per stored relationship)."""
    nodes: dict[str, GraphNode] = {}
    links: dict[str, GraphLink] = {}
    paths: list[GraphPath] = []

    def node(key: str, kind: str, label: str, item: str, **kw) -> str:
        n = nodes.get(key)
        if n is None:
            n = nodes[key] = GraphNode(id=key, kind=kind, label=label, title=label, layer=LAYERS[kind], **kw)
        if item not in n.items:
            n.items.append(item)
        return key

    def link(rid: str, src: str, dst: str, typ: str, sign: int, weight: float, item: str) -> None:
        ln = links.get(rid)
        if ln is None:
            ln = links[rid] = GraphLink(id=rid, source=src, target=dst, type=typ, sign=sign, weight=0.0)
        ln.weight = max(ln.weight, abs(weight))
        if item not in ln.items:
            ln.items.append(item)

    you = f"user:{user_id}"
    for e in explanations:
        item = e.item
        if not e.paths:
            continue
        node(you, "user", "you", item)
        inode = node(f"item:{item}", "item", e.title or item, item, rank=ranks.get(item))
        for p in e.paths:
            c = node(f"concept:{p.concept}", "concept", p.concept_name, item)
            if p.kind in ("interest", "negative_interest"):
                nodes[c].sign = p.sign if nodes[c].sign == 0 else nodes[c].sign
                link(p.rels[0], you, c, "INTERESTED_IN", p.sign, p.weight, item)
                link(p.rels[1], inode, c, "HAS_KNOWLEDGE", 1, p.weight, item)
            else:
                nodes.setdefault(f"via:{p.via}", GraphNode(  # kind of the first path that reaches it
                    id=f"via:{p.via}", kind="via", label=p.via_title or p.via or "?",
                    title=f"{p.via_title} ({p.via_kind})", layer=LAYERS["via"], sign=p.sign))
                v = node(f"via:{p.via}", "via", p.via_title or p.via or "?", item, sign=p.sign)
                link(p.rels[0], you, v, "INTERACTED", p.sign, p.weight, item)
                link(p.rels[1], v, c, "HAS_KNOWLEDGE", 1, p.weight, item)
                link(p.rels[2], inode, c, "HAS_KNOWLEDGE", 1, p.weight, item)
            paths.append(GraphPath(item=inode, kind=p.kind, sign=p.sign, weight=p.weight, links=list(p.rels)))
    return ExplanationGraph(nodes=list(nodes.values()), links=list(links.values()), paths=paths)


def build_report(db: Database, user_id: str, *, k: int = 10, per_item: int = 3, store: bool = True,
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
        return '<p class="muted">No interests are stored for this user yet (run <code>kgrec interests</code>).</p>'
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
        name = p.name if len(p.name) <= 30 else p.name[:29] + "…"
        parts.append(
            f'<g class="bar {cls}"><title>{_esc(tip)}</title>'
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{"− " if p.polarity < 0 else ""}{_esc(name)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" rx="3"></rect>'
            f'<text class="val" x="{label_w + w + 5:.1f}" y="{y + 15}">{v:.2f}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _path_html(p, title: str) -> str:
    sign = "pos" if p.sign > 0 else "neg"
    if p.kind == "item_link":
        chain = (f'you <span class="rel">{_esc(p.via_kind or "")}</span> {_esc(p.via_title)} '
                 f'<span class="rel">ITEM_LINK</span> {_esc(title)}')
    elif p.kind in ("interest", "negative_interest"):
        chain = (f'you <span class="rel">INTERESTED_IN {_esc(p.horizon or "long")}{"" if p.sign > 0 else ", −"}</span> '
                 f'<b>{_esc(p.concept_name)}</b> <span class="rel">HAS_KNOWLEDGE</span> {_esc(title)}')
    else:
        chain = (f'you <span class="rel">{_esc(p.via_kind or "")}</span> {_esc(p.via_title)} '
                 f'<span class="rel">HAS_KNOWLEDGE</span> <b>{_esc(p.concept_name)}</b> '
                 f'<span class="rel">HAS_KNOWLEDGE</span> {_esc(title)}')
    return f'<li class="{sign}"><span class="w">{p.weight:+.3g}</span> {chain}</li>'


def _recs_html(data: ReportData) -> str:
    out = []
    for r in data.recommendations.items:
        e = r.explanation
        title = r.title or r.item
        shown = (e.paths + e.links) if e else []
        paths = "".join(_path_html(p, title) for p in shown)
        details = (f'<details><summary>{len(shown)} stored path(s)</summary><ul class="paths">{paths}</ul></details>'
                   if shown else "")
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


def render_html(data: ReportData) -> str:
    """The whole page as one string: CSS, JS and data inlined (works offline, from a file:// URL)."""
    s = data.summary or {}
    stats = (f'{s.get("interactions", 0)} interactions ({s.get("positive", 0)} positive, {s.get("negative", 0)} '
             f'negative) · {s.get("interests", 0)} interests · model run {_esc(data.run)} · {_esc(data.created)}')
    graph_json = _json_script(data.graph.model_dump())
    n_nodes = len(data.graph.nodes)
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
<p class="muted">Every path below was matched in the graph; hover a recommendation to light up its paths.</p>
<ol class="recs">{_recs_html(data)}</ol></section>
</div>
<section id="graph-section"><h2>Explanation graph</h2>
<p class="muted">{n_nodes} nodes, {len(data.graph.links)} stored relationships. Drag nodes; hover to highlight.
Green edges explain, red dashed edges hold back.</p>
<div id="legend"><span style="--c: var(--user)">you</span><span style="--c: var(--pos)">item you liked</span>
<span style="--c: var(--neg)">item you disliked / negative interest</span><span style="--c: var(--concept)">concept</span>
<span style="--c: var(--item)">recommended item</span></div>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" data-expected-nodes="{n_nodes}"></svg>
<noscript><p class="muted">The explanation graph needs JavaScript.</p></noscript>
</section>
</main>
<script type="application/json" id="kgrec-graph">{graph_json}</script>
<script>{_asset("graph.js")}</script>
</body></html>
"""


def write_report(db: Database, user_id: str, out: str | Path, *, k: int = 10, per_item: int = 3,
                 store: bool = True) -> ReportResult:
    """Build the report of ``user_id`` and write it to ``out`` (an .html file)."""
    t0 = time.perf_counter()
    data = build_report(db, user_id, k=k, per_item=per_item, store=store)
    page = render_html(data)
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return ReportResult(path=str(path), user=user_id, recommendations=len(data.recommendations.items),
                        paths=sum(len(r.explanation.paths) for r in data.recommendations.items if r.explanation),
                        nodes=len(data.graph.nodes), links=len(data.graph.links),
                        bytes=len(page.encode("utf-8")), seconds=time.perf_counter() - t0)
