// Whether any mention was never projected onto the vocabulary (no concept and not pending).
MATCH (m:Mention)
WHERE m.pending IS NULL AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
RETURN count(m) > 0 AS any
