"""The proposed pack as a ``schema/packs/*.yaml`` file, read back to check it loads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import InputError
from .models import OTHERS, DiscoveryReport, ProposedType


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def render_pack(types: Sequence[ProposedType], *, name: str, domain: str, report: DiscoveryReport | None = None) -> str:
    """The pack file text (YAML, the format of ``schema/packs/*.yaml``) with the scores as comments."""
    lines = ["# Knowledge-type pack proposed by `kgrec types discover`: REVIEW names and definitions before use."]
    if report is not None:
        lines.append(f"# extractor {report.extractor}, {report.items_sampled} sampled items, {report.observations} labels "
                     f"({report.distinct_labels} distinct), {report.clusters} clusters at similarity "
                     f"{report.min_similarity}; the {report.k} types cover {report.covered_by_types:.0%} of the items.")
    lines += ["# Ranking: score = coverage (share of sampled items) x cohesion (mean cosine to the centroid).",
              f"name: {_yaml_str(name)}", f"domain: {_yaml_str(domain)}", "types:"]
    for t in types:
        if t.name != OTHERS:
            lines.append(f"  # coverage {t.coverage:.3f}, cohesion {t.cohesion:.3f}, score {t.score:.3f}; "
                         f"members: {', '.join(t.members[:8])}".replace("\n", " "))
        lines.append(f"  - name: {_yaml_str(t.name)}")
        lines.append(f"    definition: {_yaml_str(t.definition)}")
        lines.append(f"    examples: [{', '.join(_yaml_str(e) for e in t.examples)}]")
    return "\n".join(lines) + "\n"


def write_pack(types: Sequence[ProposedType], path: str | Path, *, name: str, domain: str,
               report: DiscoveryReport | None = None):
    """Write the pack and read it back with :func:`~kgrec_neo4j.core.schema.load_pack` (returns the TypePack)."""
    from ..core.schema import load_pack

    p = Path(path)
    if p.suffix not in (".yaml", ".yml"):
        raise InputError(f"the pack file must end in .yaml or .yml (got {p.name!r})", source=str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_pack(types, name=name, domain=domain, report=report), encoding="utf-8")
    return load_pack(str(p))
