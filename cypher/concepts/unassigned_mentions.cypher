// Mentions of the given types without a concept: the pending ones too when $retry_pending (new concepts may take
// them), else only those never projected (no concept, not pending).
MATCH (m:Mention)
WHERE m.type IN $types AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) } AND ($retry_pending OR m.pending IS NULL)
RETURN m.type AS type, m.key AS key
