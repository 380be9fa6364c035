"""kgrec-neo4j: an LLM-built knowledge graph in Neo4j that recommends items and explains them by paths."""

import os as _os

# Idle OpenMP threads spin by default; on a small shared machine that made a torch training step ~15x
# slower with 2 threads than with 1. Passive waiting costs nothing measurable when the cores are free.
# Set before torch is imported anywhere in the package (a value already in the environment wins).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
