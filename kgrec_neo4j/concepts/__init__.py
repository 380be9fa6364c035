"""Canonical concepts: a stable, incremental vocabulary of knowledge-point values per knowledge type.

Stages (each a function taking the database, the embedder and the type pack):

* :func:`build_vocabulary` — first vocabulary from a sample of items (complete linkage under a
  per-type similarity floor, adjusted to a target band);
* :func:`project_mentions` — every unassigned mention to its nearest same-type concept through the
  vector index, or pending; :func:`project_texts` does the same for free texts (user interests);
* :func:`grow_vocabulary` — new concepts from pending mentions only (churn = 0);
* :func:`suggest_merges` / :func:`merge_concepts` / :func:`resolve_concept` — deliberate merges with aliases;
* :func:`concepts_report` — quality numbers per type.

See docs/concepts.md.
"""

from .build import BuildReport, build_vocabulary
from .grow import GrowReport, grow_vocabulary
from .merge import (
    MergeReport,
    MergeSuggestion,
    merge_concepts,
    resolve_concept,
    suggest_merges,
)
from .project import ProjectReport, project_mentions, project_texts
from .report import ConceptsReport, concepts_report, type_stats

__all__ = [
    "BuildReport", "build_vocabulary", "GrowReport", "grow_vocabulary", "MergeReport", "MergeSuggestion",
    "merge_concepts", "resolve_concept", "suggest_merges", "ProjectReport", "project_mentions", "project_texts",
    "ConceptsReport", "concepts_report", "type_stats",
]
