"""Load items, users and interactions into Neo4j from three formats.

Formats (all with real samples in ``../shared/data``):

- ``generic``: ``items.jsonl[.gz]`` + ``interactions.jsonl[.gz]`` (see ``docs/graph-model.md``);
- ``amazon2018``: reviews (``reviewerID, asin, overall, unixReviewTime, reviewText, summary``) and an
  optional ``meta_*`` file (``asin, title, description, feature, brand, category``);
- ``amazon2023``: reviews (``user_id, parent_asin, rating, timestamp`` in ms, ``title, text``) and an
  optional ``meta_*`` file (``parent_asin, title, features, description, store, categories, details``).

Reading is separate from writing: records are parsed and validated first (each bad line is reported
with file, line and reason, counted and skipped; ``strict`` refuses the whole input before anything
is written), then optionally filtered (iterative k-core, a user sample), split last-two-out per user
in ``seq`` order, and written in batches of idempotent ``UNWIND … MERGE`` queries. A load killed half
way and run again ends in the same graph as an uninterrupted one.
"""

from __future__ import annotations

from .read import (
           Dataset,
           Format,
           Interaction,
           Issue,
           detect,
           read,
           read_amazon2018,
           read_amazon2023,
           read_generic,
)
from .split import k_core, kind_sign, sample_users, split_of
from .write import LoadReport, ReloadLoss, load

__all__ = ["Dataset", "Format", "Interaction", "Issue", "LoadReport", "ReloadLoss", "detect", "k_core", "kind_sign",
           "load", "read", "read_amazon2018", "read_amazon2023", "read_generic", "sample_users", "split_of"]
