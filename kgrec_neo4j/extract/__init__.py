"""Item knowledge points: extractors (LLM and offline) and their storage in Neo4j."""
