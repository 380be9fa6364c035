// The HAS_KNOWLEDGE edges of each item of $ids as one list of [id, [[concept id, confidence, support], ...]] (sorted
// by concept id): compared before and after an extraction recomputes them, so that only the users of items whose
// knowledge changed are stamped for the next `kgrec update`.
// Params: $ids (list of Item.id).
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  OPTIONAL MATCH (i)-[h:HAS_KNOWLEDGE]->(c:Concept)
  WITH c, h ORDER BY c.id
  RETURN [x IN collect([c.id, h.confidence, h.support]) WHERE x[0] IS NOT NULL] AS edges
}
RETURN collect([id, edges]) AS rows
