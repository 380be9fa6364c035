"""Clustering the labels, ranking the clusters by coverage x cohesion, and choosing ``k`` types."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.embed import TextEncoder
from ..core.errors import KgrecError
from ..extract.base import mention_key
from .models import _OTHERS_KEYS, OTHERS, ExtractorName, Observation, ProposedType


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses", "zzes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def label_key(label: str) -> str:
    """Folding key of a label: :func:`mention_key` with the last word singular (``Colors`` → ``color``)."""
    words = mention_key(label).split()
    if not words:
        return ""
    words[-1] = _singular(words[-1])
    return " ".join(words)


def title_name(text: str) -> str:
    """``"page yield"`` → ``"Page Yield"``; words already capitalised or in capitals (``USB``) are kept."""
    return " ".join(w if w[:1].isupper() else w[:1].upper() + w[1:] for w in text.split())


@dataclass
class _Label:
    key: str
    forms: Counter  # raw form -> count
    values: Counter  # value key -> count
    value_form: dict[str, str]
    items: set[int]

    @property
    def mentions(self) -> int:
        return sum(self.forms.values())

    @property
    def display(self) -> str:
        return max(self.forms.items(), key=lambda kv: (kv[1], kv[0].lower() == kv[0], kv[0]))[0]


def _gather(obs: Sequence[Observation]) -> tuple[list[_Label], int]:
    labels: dict[str, _Label] = {}
    others = 0
    for o in obs:
        k = label_key(o.label)
        if not k:
            continue
        if k in _OTHERS_KEYS:
            others += 1
            continue
        lab = labels.get(k)
        if lab is None:
            lab = labels[k] = _Label(k, Counter(), Counter(), {}, set())
        lab.forms[o.label.strip()] += 1
        vk = mention_key(o.value)
        lab.values[vk] += 1
        lab.value_form.setdefault(vk, o.value.strip())
        lab.items.add(o.item)
    # most mentioned first, then by key: deterministic
    return sorted(labels.values(), key=lambda lb: (-lb.mentions, lb.key)), others


def cluster_labels(X: np.ndarray, min_similarity: float) -> np.ndarray:
    """Average-linkage clusters of L2-normalised rows ``X`` ``(n, d)`` cut at cosine ``min_similarity``.

    Returns ``(n,)`` int64 labels ``0..c-1`` numbered by first member.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    from ..concepts.cluster import condensed_distances, renumber

    if not -1.0 < min_similarity < 1.0:
        raise ValueError(f"min_similarity must be in (-1, 1) (got {min_similarity})")
    n = X.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    tree = linkage(condensed_distances(np.ascontiguousarray(X, dtype=np.float32)), method="average")
    return renumber(fcluster(tree, t=1.0 - min_similarity, criterion="distance") - 1)


def _head_name(members: list[_Label]) -> str | None:
    """The most frequent head (last) word of the members, if at least a third of the mentions share it."""
    heads: Counter = Counter()
    for m in members:
        heads[m.key.split()[-1]] += m.mentions
    total = sum(heads.values())
    word, n = max(heads.items(), key=lambda kv: (kv[1], kv[0]))
    return word if n * 3 >= total and len(word) >= 3 else None


def rank_clusters(obs: Sequence[Observation], n_items: int, embedder: TextEncoder, *, min_similarity: float,
                  mode: ExtractorName = "llm", max_labels: int = 6000,
                  attribute_names: bool = True) -> tuple[list[ProposedType], dict[str, int]]:
    """All clusters of the observations' labels as :class:`ProposedType`, best ``score`` first.

    Args:
        obs: the observations of ``n_items`` sampled items.
        embedder: a :class:`~kgrec_neo4j.core.embed.TextEncoder` (``encode(texts) -> (n, d)`` L2-normalised).
        min_similarity: the average-linkage cut (cosine).
        mode: ``llm`` (labels are type names; examples are values) or ``offline`` (labels are phrases).
        max_labels: the most mentioned labels are clustered; each rarer one joins the cluster whose
            centroid is nearest if at least ``min_similarity`` similar, else it is dropped.
        attribute_names: offline only: name each cluster by the attribute its values share
            (:mod:`.attributes`), make clusters of one attribute one type, drop clusters of function words.

    Returns:
        ``(ranked, counts)``; ``counts`` has ``distinct_labels``, ``others_labels``, ``unclustered_labels``.
    """
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1 (got {n_items})")
    keyed: dict[str, list[Observation]] = defaultdict(list)  # offline: values of a "Key: values" line, by key
    for o in obs:
        if o.attribute:
            keyed[label_key(o.attribute)].append(o)
    labels, others = _gather([o for o in obs if not o.attribute])
    counts = {"distinct_labels": len(labels), "others_labels": others, "unclustered_labels": 0,
              "function_word_clusters": 0, "attribute_clusters": 0, "keyed_types": len(keyed)}
    # a key is a type its items name themselves: one proposal per key, its values the examples (not clustered: the
    # names of a film's cast are alike to no embedding)
    from_keys = []
    for _key, kobs in sorted(keyed.items()):
        vals, _ = _gather(kobs)
        counts["distinct_labels"] += len(vals)
        if vals:
            shown = Counter((o.attribute or "").strip() for o in kobs).most_common(1)[0][0]
            from_keys.append(_proposal(vals, embedder.encode([v.display.lower() for v in vals]), n_items, mode,
                                       name=title_name(shown)))
            from_keys[-1]._from_key = True
    if not labels:
        from_keys.sort(key=lambda p: (-p.score, -p.mentions, p.name))
        return from_keys, counts
    head, tail = labels[:max_labels], labels[max_labels:]
    X = embedder.encode([lb.display.lower() for lb in head])
    assign = cluster_labels(X, min_similarity)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(assign):
        groups[int(c)].append(i)
    members: dict[int, list[_Label]] = {c: [head[i] for i in idx] for c, idx in groups.items()}
    vecs: dict[int, np.ndarray] = {c: X[idx] for c, idx in groups.items()}
    if tail:
        cids = sorted(groups)
        cent = np.stack([_centroid(vecs[c], [m.mentions for m in members[c]]) for c in cids])
        T = embedder.encode([lb.display.lower() for lb in tail])
        S = T @ cent.T
        best = S.argmax(axis=1)
        for j, lb in enumerate(tail):
            if S[j, best[j]] >= min_similarity:
                c = cids[int(best[j])]
                members[c].append(lb)
                vecs[c] = np.vstack([vecs[c], T[j:j + 1]])
            else:
                counts["unclustered_labels"] += 1
    names: dict[int, str] = {}
    if mode == "offline" and attribute_names:
        from ..extract.offline import STOPWORDS
        from .attributes import cluster_attribute, is_function_words

        by_attr: dict[str, list[int]] = defaultdict(list)
        for c in list(members):
            pairs = [(m.display, m.mentions) for m in members[c]]
            if is_function_words(pairs, STOPWORDS):
                counts["function_word_clusters"] += 1
                del members[c], vecs[c]
                continue
            attr = cluster_attribute(pairs)
            if attr:
                by_attr[attr].append(c)
        for attr, cs in by_attr.items():  # the clusters of one attribute are one type
            counts["attribute_clusters"] += len(cs)
            keep = cs[0]
            for c in cs[1:]:
                members[keep] += members.pop(c)
                vecs[keep] = np.vstack([vecs[keep], vecs.pop(c)])
            names[keep] = attr
    ranked = [_proposal(members[c], vecs[c], n_items, mode, name=names.get(c)) for c in members]
    keys = {label_key(p.name) for p in from_keys}  # a phrase cluster named like a key is left out: the key names it
    ranked = [p for p in ranked if label_key(p.name) not in keys] + from_keys
    ranked.sort(key=lambda p: (-p.score, -p.mentions, p.name))
    return ranked, counts


def _centroid(V: np.ndarray, weights: list[int]) -> np.ndarray:
    c = (np.asarray(weights, dtype=np.float64)[:, None] * V).sum(axis=0)
    return (c / max(np.linalg.norm(c), 1e-12)).astype(np.float32)


def _proposal(members: list[_Label], V: np.ndarray, n_items: int, mode: str, name: str | None = None) -> ProposedType:
    w = np.asarray([m.mentions for m in members], dtype=np.float64)
    c = _centroid(V, w.tolist())
    cohesion = float((w * (V @ c)).sum() / w.sum())
    items: set[int] = set().union(*(m.items for m in members))
    coverage = len(items) / n_items
    order = sorted(range(len(members)), key=lambda i: (-members[i].mentions, members[i].key))
    names = [members[i].display for i in order]
    forms: Counter = Counter()
    for m in members:
        forms.update(m.forms)
    raw = [f for f, _ in sorted(forms.items(), key=lambda kv: (-kv[1], kv[0]))]
    if mode == "offline":
        if name is None:
            head = _head_name(members)
            if head is None:
                name = title_name(members[int(np.argmax(V @ c))].display)
            else:  # the head word as a member writes it alone (PlayStation), else title-cased
                alone = [m for m in members if m.key == head]
                name = title_name(alone[0].display if alone else head)
        examples = names[:5]
    else:
        name = title_name(names[0])
        values: Counter = Counter()
        shown: dict[str, str] = {}
        for m in members:
            values.update(m.values)
            for k, f in m.value_form.items():
                shown.setdefault(k, f)
        examples = [shown[k] for k, _ in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    p = ProposedType(name=name, definition="", examples=examples, members=raw[:12], n_members=len(members),
                     mentions=int(w.sum()), items=len(items), coverage=round(coverage, 4),
                     cohesion=round(cohesion, 4), score=round(coverage * cohesion, 4))
    p._item_ids = frozenset(items)
    return p


def _definition(p: ProposedType, mode: str) -> str:
    ex = "; ".join(p.examples[:4])
    if p._from_key:
        return (f"The item's {p.name.lower()}, such as {ex} ({p.coverage:.0%} of sampled items give it as "
                f"'{p.name}: ...'; review it).")
    if mode == "offline":
        return (f"Phrases about {p.name.lower()}, such as {ex} "
                f"({p.coverage:.0%} of sampled items; generated from a phrase cluster, review it).")
    syn = ", ".join(p.members[:4])
    return (f"What the item's {syn} is, e.g. {ex} "
            f"({p.coverage:.0%} of sampled items; generated from a type-name cluster, review it).")


def select_types(ranked: Sequence[ProposedType], k: int, *, mode: str = "llm") -> list[ProposedType]:
    """The ``k`` best clusters with unique names and a definition each, then ``Others``.

    Raises:
        KgrecError: fewer than ``k`` clusters (sample more items or lower ``k``).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k})")
    if len(ranked) < k:
        raise KgrecError(f"only {len(ranked)} label clusters were found but k={k} types were asked for; "
                         f"sample more items (--sample), lower --k, or raise the similarity floor")
    used = {OTHERS.lower()}
    out: list[ProposedType] = []
    for p in ranked[:k]:
        name = p.name
        for alt in [p.name, *(title_name(m) for m in p.members)]:
            if alt.lower() not in used:
                name = alt
                break
        else:
            n = 2
            while f"{p.name} {n}".lower() in used:
                n += 1
            name = f"{p.name} {n}"
        used.add(name.lower())
        q = p.model_copy(update={"name": name})
        out.append(q.model_copy(update={"definition": _definition(q, mode)}))
    rest = [p.name for p in ranked[k:k + 6]]
    tail = f" (e.g. the next clusters found: {', '.join(rest)})" if rest else ""
    out.append(ProposedType(name=OTHERS, definition=f"Any other relevant knowledge that fits none of the types above{tail}.",
                            examples=rest[:3]))
    return out
