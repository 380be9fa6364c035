// Projection: a mention without a concept gets one (CANONICAL), or is marked pending. A mention that
// already has a CANONICAL edge is left exactly as it is. Rows travel as parallel lists
// ($types, $keys, $concepts (null = pending), $sims).
UNWIND range(0, size($keys) - 1) AS i
MATCH (m:Mention {type: $types[i], key: $keys[i]})
WHERE NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
CALL (m, i) {
  WITH m, i WHERE $concepts[i] IS NOT NULL
  MATCH (c:Concept {id: $concepts[i]})
  CREATE (m)-[:CANONICAL {similarity: $sims[i], method: 'projection'}]->(c)
  REMOVE m.pending
}
CALL (m, i) {
  WITH m, i WHERE $concepts[i] IS NULL
  SET m.pending = true
}
RETURN count(*) AS rows
