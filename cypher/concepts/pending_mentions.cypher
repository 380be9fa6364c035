// Pending mentions of one type (no concept cleared the acceptance threshold), with their items.
MATCH (m:Mention {type: $type})
WHERE m.pending = true AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
RETURN m.key AS key, m.text AS text, [(i:Item)-[:MENTIONS]->(m) | i.id] AS items
