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
// A relationship whose twin $keep has already (the same type from or to the same node, with the same horizon and
// extractor: a user's interest in both concepts, a family relation both had) is deleted, not moved: moved, it was a
// second edge beside the twin, which no later command removed (one edge per user, concept, horizon and extractor).
CALL (keep, gone) {
  MATCH (x)-[r]->(gone)
  WHERE NOT type(r) IN ['CANONICAL', 'HAS_KNOWLEDGE']
  WITH keep, x, r, EXISTS { MATCH (x)-[t]->(keep) WHERE type(t) = type(r)
                        AND coalesce(t.horizon, '') = coalesce(r.horizon, '')
                        AND coalesce(t.extractor, '') = coalesce(r.extractor, '') } AS twin
  CALL (r, twin) {
    WITH r WHERE twin
    DELETE r
  }
  CALL (r, twin, keep) {
    WITH r WHERE NOT twin
    CALL apoc.refactor.to(r, keep) YIELD output
    RETURN count(*) AS n
  }
  RETURN count(CASE WHEN NOT twin THEN 1 END) AS moved_in, count(CASE WHEN twin THEN 1 END) AS twins_in
}
CALL (keep, gone) {
  MATCH (gone)-[r]->(y)
  WHERE NOT type(r) IN ['OF_TYPE']
  WITH keep, y, r, EXISTS { MATCH (keep)-[t]->(y) WHERE type(t) = type(r)
                        AND coalesce(t.horizon, '') = coalesce(r.horizon, '')
                        AND coalesce(t.extractor, '') = coalesce(r.extractor, '') } AS twin
  CALL (r, twin) {
    WITH r WHERE twin
    DELETE r
  }
  CALL (r, twin, keep) {
    WITH r WHERE NOT twin
    CALL apoc.refactor.from(r, keep) YIELD output
    RETURN count(*) AS n
  }
  RETURN count(CASE WHEN NOT twin THEN 1 END) AS moved_out, count(CASE WHEN twin THEN 1 END) AS twins_out
}
SET keep.aliases = coalesce(keep.aliases, []) + [gone.id] + [a IN coalesce(gone.aliases, []) WHERE NOT a IN coalesce(keep.aliases, [])],
    keep.merged_at = datetime()
WITH keep, gone, moved_in, moved_out, twins_in + twins_out AS twins
DETACH DELETE gone
RETURN keep.id AS keep, keep.aliases AS aliases, moved_in, moved_out, twins
