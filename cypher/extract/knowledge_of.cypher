// The HAS_KNOWLEDGE edges of each item of $ids as one list of [id, [[concept id, confidence, support], ...] (sorted
// by concept id; the confidence to 12 digits: the noisy-OR's product may differ in its last bits with the order of its
// terms), whether it mentions a value never placed on its type's vocabulary (no concept, not pending, of a type that has
// concepts: the next `kgrec update` places it, and its knowledge may change then)]: compared before and after an extraction recomputes them, so that
// only the users of items whose knowledge changed, or may change at the next update, are stamped for it.
// Params: $ids (list of Item.id).
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  OPTIONAL MATCH (i)-[h:HAS_KNOWLEDGE]->(c:Concept)
  WITH c, h ORDER BY c.id
  RETURN [x IN collect([c.id, round(h.confidence, 12), h.support]) WHERE x[0] IS NOT NULL] AS edges
}
RETURN collect([id, edges, EXISTS { (i)-[:MENTIONS]->(m:Mention) WHERE m.pending IS NULL
                                      AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
                                      AND EXISTS { MATCH (c:Concept) WHERE c.type = m.type } }]) AS rows
