// Mentions of the given types without a concept (pending ones included: new concepts may take them).
MATCH (m:Mention)
WHERE m.type IN $types AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
RETURN m.type AS type, m.key AS key
