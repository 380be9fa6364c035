// How many mentions are pending (projected, no concept cleared the threshold): they wait for a concept grown from them.
MATCH (m:Mention)
WHERE m.pending = true AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
RETURN count(m) AS pending
