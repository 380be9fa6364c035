// One user's INTERESTED_IN edges (of one extractor, or all) at or above $min_confidence, strongest first (equal
// weights, e.g. long-term ones at full strength, by how many interactions carry the concept, then by confidence),
// with the evidence items' titles (in evidence order; the id when an item has no title).
MATCH (u:User {id: $user})-[r:INTERESTED_IN]->(c:Concept)
WHERE ($extractor IS NULL OR r.extractor = $extractor) AND coalesce(r.confidence, 0.0) >= $min_confidence
CALL (r) {
  UNWIND coalesce(r.evidence, []) AS ev
  OPTIONAL MATCH (i:Item {id: ev})
  RETURN collect(coalesce(i.title, ev)) AS evidence_titles
}
RETURN c.id AS concept_id, coalesce(c.name, c.id) AS name, c.type AS type, r.horizon AS horizon,
       r.polarity AS polarity, r.weight AS weight, r.confidence AS confidence, r.extractor AS extractor,
       coalesce(r.evidence, []) AS evidence, r.updated_seq AS updated_seq, r.support AS support, evidence_titles
ORDER BY r.weight DESC, coalesce(r.support, 0) DESC, coalesce(r.confidence, 0.0) DESC, name
