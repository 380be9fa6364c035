// (:Item)-[:HAS_KNOWLEDGE {confidence, support}]->(:Concept), recomputed for the given items from all
// their mentions that have a concept:
//   p(mention)  = max confidence of the item's MENTIONS edges to it (missing = 1.0) x CANONICAL similarity
//   confidence  = 1 - prod(1 - p) over the item's mentions on the concept (noisy-OR: independent evidence)
//   support     = number of the item's mentions on the concept
// Edges under $min_confidence are not read; HAS_KNOWLEDGE edges of these items that no mention
// supports any more are removed.
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  MATCH (i)-[r:MENTIONS]->(m:Mention)-[cn:CANONICAL]->(c:Concept)
  WHERE coalesce(r.confidence, 1.0) >= $min_confidence
  WITH c, m, cn, max(coalesce(r.confidence, 1.0)) AS rc
  WITH c, count(m) AS support,
       collect(CASE WHEN rc * cn.similarity < 0 THEN 0.0 WHEN rc * cn.similarity > 1 THEN 1.0
                    ELSE rc * cn.similarity END) AS ps
  RETURN collect({c: c, support: support, confidence: 1.0 - reduce(q = 1.0, p IN ps | q * (1.0 - p))}) AS ks
}
CALL (i, ks) {
  UNWIND ks AS k
  WITH i, k, k.c AS c
  MERGE (i)-[h:HAS_KNOWLEDGE]->(c)
  SET h.confidence = k.confidence, h.support = k.support
}
CALL (i, ks) {
  MATCH (i)-[h:HAS_KNOWLEDGE]->(c:Concept)
  WHERE NOT c IN [k IN ks | k.c]
  DELETE h
}
RETURN count(i) AS items
