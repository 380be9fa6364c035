// The types of the pending mentions that the items $ids mention: an update grows new concepts from the pending
// mentions of these types (their items give them new support).
MATCH (i:Item)-[:MENTIONS]->(m:Mention)
WHERE i.id IN $ids AND m.pending = true AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
RETURN collect(DISTINCT m.type) AS types
