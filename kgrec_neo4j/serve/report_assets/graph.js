/* kgrec report: the explanation subgraph as a layered, draggable SVG (vanilla JS, no dependencies).
 *
 * Layers, left to right: you | your items and learned profile | concepts | recommended items.
 * Every edge carries the signed share of the score it stands for (its label; width by |share|); a dashed
 * MODEL edge is a part of a share with no stored path.
 * Node order inside a layer: recommended items by rank; the others by a few barycentre sweeps
 * (each node moves towards the mean position of its neighbours), which removes most crossings.
 * Interaction: drag a node (its edges follow); hover a node or a recommendation card to light up
 * every explanation path through it.
 */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("graph");
  var raw = document.getElementById("kgrec-graph");
  if (!svg || !raw) return;
  var data = JSON.parse(raw.textContent);

  var nodes = data.nodes.map(function (n) { return Object.assign({}, n); });
  var byId = {};
  nodes.forEach(function (n) { byId[n.id] = n; });
  var links = data.links.filter(function (l) { return byId[l.source] && byId[l.target]; })
    .map(function (l) { return Object.assign({}, l, { s: byId[l.source], t: byId[l.target] }); });
  var linkById = {};
  links.forEach(function (l) { linkById[l.id] = l; });

  // ---- paths: which nodes and links each path uses (for highlights)
  var paths = (data.paths || []).map(function (p) {
    var ls = p.links.map(function (id) { return linkById[id]; }).filter(Boolean);
    var ns = {};
    ls.forEach(function (l) { ns[l.s.id] = true; ns[l.t.id] = true; });
    return { item: p.item, links: ls, nodes: ns };
  });

  // ---- layered layout
  var layers = [[], [], [], []];
  nodes.forEach(function (n) { (layers[n.layer] || layers[2]).push(n); });
  layers[3].sort(function (a, b) { return (a.rank || 1e9) - (b.rank || 1e9); });
  var nb = {};
  nodes.forEach(function (n) { nb[n.id] = []; });
  links.forEach(function (l) { nb[l.s.id].push(l.t); nb[l.t.id].push(l.s); });
  function number(layer) { layer.forEach(function (n, i) { n.order = i; }); }
  layers.forEach(number);
  function rel(n) { var L = layers[n.layer]; return L.length > 1 ? n.order / (L.length - 1) : 0.5; }
  function sweep(li, ref) {
    var L = layers[li];
    L.forEach(function (n) {
      var ms = nb[n.id].filter(function (m) { return ref.indexOf(m.layer) >= 0; });
      n.bc = ms.length ? ms.reduce(function (s, m) { return s + rel(m); }, 0) / ms.length : rel(n);
    });
    L.sort(function (a, b) { return a.bc - b.bc || a.order - b.order; });
    number(L);
  }
  for (var it = 0; it < 8; it++) { sweep(2, [3, 1]); sweep(1, [2, 3]); }

  var ROW = 26, TOP = 46, BOTTOM = 20;
  var W = Math.max(760, svg.clientWidth || 900);
  var maxRows = Math.max.apply(null, layers.map(function (L) { return L.length; }).concat([1]));
  var H = TOP + BOTTOM + maxRows * ROW;
  var X = [30, Math.round(W * 0.15), Math.round(W * 0.45), Math.round(W * 0.66)];
  layers.forEach(function (L, li) {
    L.forEach(function (n, i) {
      n.x = X[li];
      n.y = TOP + (H - TOP - BOTTOM) * (i + 0.5) / L.length;
    });
  });
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("height", String(H));

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function cut(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }

  ["you", "your items", "concepts", "recommended"].forEach(function (t, li) {
    if (layers[li].length) el("text", { x: X[li] - 6, y: 20, "class": "col-label" }, svg).textContent = t;
  });

  // ---- links, each with its share of the score as a label
  var gLinks = el("g", { "class": "links" }, svg);
  var gLabels = el("g", { "class": "shares" }, svg);
  var maxW = links.reduce(function (m, l) { return Math.max(m, Math.abs(l.share)); }, 0) || 1;
  function fmt(v) { var a = Math.abs(v); return (v < 0 ? "\u2212" : "+") + (a >= 100 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toPrecision(2)); }
  links.forEach(function (l) {
    l.el = el("path", {
      "class": "link " + l.type + (l.share < 0 ? " neg" : ""),
      "stroke-width": (1 + 4 * Math.abs(l.share) / maxW).toFixed(2),
      "data-id": l.id
    }, gLinks);
    var per = Object.keys(l.shares || {}).map(function (k) { return k + " " + fmt(l.shares[k]); }).join(", ");
    el("title", {}, l.el).textContent = (l.stored ? l.type : "no stored path (model's embeddings)") +
      "  share " + fmt(l.share) + (per ? "  [" + per + "]" : "");
    l.label = el("text", { "class": "share" + (l.share < 0 ? " neg" : "") }, gLabels);
    l.label.textContent = fmt(l.share);
  });
  function drawLink(l) {
    var mx = (l.s.x + l.t.x) / 2, c1 = l.s.y, c2 = l.t.y;
    if (Math.abs(l.s.layer - l.t.layer) > 1) {  // a layer-skipping edge arcs over the middle column
      var lift = Math.min(l.s.y, l.t.y) - Math.max(28, (TOP - 10));
      c1 = l.s.y - lift * 0.9; c2 = l.t.y - lift * 0.9;
      c1 = Math.max(TOP - 10, c1); c2 = Math.max(TOP - 10, c2);
    }
    l.el.setAttribute("d", "M" + l.s.x + "," + l.s.y + " C" + mx + "," + c1 + " " + mx + "," + c2 + " " +
      l.t.x + "," + l.t.y);
    // the label sits at the curve's middle: B(1/2) = (P0 + 3 C1 + 3 C2 + P3) / 8
    l.label.setAttribute("x", ((l.s.x + 3 * mx + 3 * mx + l.t.x) / 8).toFixed(1));
    l.label.setAttribute("y", ((l.s.y + 3 * c1 + 3 * c2 + l.t.y) / 8 - 2).toFixed(1));
  }
  links.forEach(drawLink);

  // ---- nodes
  var gNodes = el("g", { "class": "nodes" }, svg);
  var R = { user: 10, via: 6.5, profile: 6.5, concept: 6.5, item: 8 };
  var MAXLEN = { user: 10, via: 26, profile: 26, concept: 24, item: Math.max(20, Math.round(W * 0.34 / 6.6) - 4) };
  nodes.forEach(function (n) {
    n.el = el("g", { "class": "node " + n.kind + (n.sign < 0 ? " neg" : ""), "data-id": n.id }, gNodes);
    el("circle", { r: R[n.kind] || 6 }, n.el);
    var label = (n.kind === "item" && n.rank ? "#" + n.rank + " " : "") + n.label;
    var tx = n.kind === "user" ? el("text", { x: 0, y: -15, "text-anchor": "middle" }, n.el)
                               : el("text", { x: (R[n.kind] || 6) + 4, y: 4 }, n.el);
    tx.textContent = cut(label, MAXLEN[n.kind] || 30);
    el("title", {}, n.el).textContent = n.title || n.label;
  });
  function drawNode(n) { n.el.setAttribute("transform", "translate(" + n.x + "," + n.y + ")"); }
  nodes.forEach(drawNode);

  // ---- highlights
  function clear() {
    svg.classList.remove("focus");
    nodes.forEach(function (n) { n.el.classList.remove("hi"); });
    links.forEach(function (l) { l.el.classList.remove("hi"); l.label.classList.remove("hi"); });
  }
  function highlight(pred) {
    clear();
    var hit = paths.filter(pred);
    if (!hit.length) return;
    svg.classList.add("focus");
    hit.forEach(function (p) {
      p.links.forEach(function (l) { l.el.classList.add("hi"); l.label.classList.add("hi"); });
      Object.keys(p.nodes).forEach(function (id) { byId[id].el.classList.add("hi"); });
    });
  }
  var dragging = null;
  nodes.forEach(function (n) {
    n.el.addEventListener("pointerenter", function () {
      if (!dragging) highlight(function (p) { return p.nodes[n.id]; });
    });
    n.el.addEventListener("pointerleave", function () { if (!dragging) clear(); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("li.rec[data-item]"), function (card) {
    var id = card.getAttribute("data-item");
    card.addEventListener("mouseenter", function () {
      card.classList.add("active");
      highlight(function (p) { return p.item === id; });
    });
    card.addEventListener("mouseleave", function () { card.classList.remove("active"); clear(); });
  });

  // ---- dragging
  function point(evt) {
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }
  nodes.forEach(function (n) {
    n.el.addEventListener("pointerdown", function (evt) {
      dragging = n;
      n.el.style.cursor = "grabbing";
      svg.setPointerCapture(evt.pointerId);
      evt.preventDefault();
    });
  });
  svg.addEventListener("pointermove", function (evt) {
    if (!dragging) return;
    var p = point(evt);
    dragging.x = Math.max(4, Math.min(W - 4, p.x));
    dragging.y = Math.max(4, Math.min(H - 4, p.y));
    drawNode(dragging);
    links.forEach(function (l) { if (l.s === dragging || l.t === dragging) drawLink(l); });
  });
  function drop(evt) {
    if (!dragging) return;
    dragging.el.style.cursor = "";
    dragging = null;
    if (svg.hasPointerCapture && svg.hasPointerCapture(evt.pointerId)) svg.releasePointerCapture(evt.pointerId);
  }
  svg.addEventListener("pointerup", drop);
  svg.addEventListener("pointercancel", drop);
  svg.setAttribute("data-rendered-nodes", String(nodes.length));
})();
