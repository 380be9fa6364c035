// Merge concept $absorb into $keep on purpose: its members move to $keep (similarity recomputed by the
// caller against $keep's embedding), its id and aliases become aliases of $keep, every other
// relationship that points at it (e.g. INTERESTED_IN) is redirected to $keep, and it is deleted.
MATCH (keep:Concept {id: $keep}), (gone:Concept {id: $absorb})
CALL (keep, gone) {
  UNWIND $members AS mem
  MATCH (m:Mention {type: gone.type, key: mem.key})-[old:CANONICAL]->(gone)
  DELETE old
  CREATE (m)-[:CANONICAL {similarity: mem.similarity, method: 'merge'}]->(keep)
}
CALL (keep, gone) {
  // a family relation between the two would become a loop
  MATCH (keep)-[b:BROADER]-(gone)
  DELETE b
}
// A relationship whose twin $keep has already (the same type, direction and other node, with the same horizon and
// extractor: a user's interest in both concepts, a family relation both had) is deleted, not moved: moved, it was a
// second edge beside the twin, which no later command removed (one edge per user, concept, horizon and extractor).
CALL (keep, gone) {
  MATCH (gone)-[r]-(x)
  WHERE NOT type(r) IN ['CANONICAL', 'HAS_KNOWLEDGE', 'OF_TYPE']
    AND EXISTS { MATCH (keep)-[t]-(x) WHERE type(t) = type(r) AND (startNode(t) = keep) = (startNode(r) = gone)
                   AND coalesce(t.horizon, '') = coalesce(r.horizon, '')
                   AND coalesce(t.extractor, '') = coalesce(r.extractor, '') }
  DELETE r
  RETURN count(*) AS twins
}
CALL (keep, gone) {
  MATCH (x)-[r]->(gone)
  WHERE NOT type(r) IN ['CANONICAL', 'HAS_KNOWLEDGE']
  CALL apoc.refactor.to(r, keep) YIELD output
  RETURN count(*) AS moved_in
}
CALL (keep, gone) {
  MATCH (gone)-[r]->(y)
  WHERE NOT type(r) IN ['OF_TYPE']
  CALL apoc.refactor.from(r, keep) YIELD output
  RETURN count(*) AS moved_out
}
SET keep.aliases = coalesce(keep.aliases, []) + [gone.id] + [a IN coalesce(gone.aliases, []) WHERE NOT a IN coalesce(keep.aliases, [])],
    keep.merged_at = datetime()
WITH keep, gone, moved_in, moved_out, twins
DETACH DELETE gone
RETURN keep.id AS keep, keep.aliases AS aliases, moved_in, moved_out, twins
