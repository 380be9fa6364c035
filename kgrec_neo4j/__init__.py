"""kgrec-neo4j: an LLM-built knowledge graph in Neo4j that recommends items and explains them by paths."""

__version__ = "0.1.0"
