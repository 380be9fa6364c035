// Replace the INTERESTED_IN edges of one extractor for a batch of users (all of them: a user with no
// edges loses the old ones). Runs in one transaction with the batch, so a user is never half-written.
// Written as a difference from the user's side: the user's edges of $extractor are read once; an edge whose
// (concept, horizon) the user keeps is updated in place only when one of its values changed (compared through
// `digest`, a hash of the written values that the caller computes: one number read per stored edge; an edge without
// one counts as changed), so `run` names the run
// that last changed it, and an update that leaves a user's long-term interests as they were writes none of them),
// the others are deleted, and only the (concept, horizon) pairs the user did not have are created. No MERGE: matching
// an edge into a popular concept from both ends is what costs, and one writer at a time writes derived state (the
// writer lease, kgrec_neo4j/core/lease.py).
// $rows: one per user of the batch: [{user, edges: {"<concept id>|<horizon>": {concept, horizon, polarity, weight,
// confidence, evidence, updated_seq, support, digest}}}]; $extractor, $run.
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u, row) {
  OPTIONAL MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept)
  WITH r, c.id + '|' + r.horizon AS key
  WITH r, key, row.edges[key] AS e
  WITH r, key, e, r IS NOT NULL AND e IS NULL AS gone,
       e IS NOT NULL AND NOT coalesce(r.digest = e.digest, false) AS changed
  FOREACH (_ IN CASE WHEN gone THEN [1] ELSE [] END | DELETE r)
  FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
        r.updated_seq = e.updated_seq, r.support = e.support, r.digest = e.digest, r.run = $run)
  RETURN collect(key) AS kept, sum(CASE WHEN changed THEN 1 ELSE 0 END) AS changed,
         sum(CASE WHEN gone THEN 1 ELSE 0 END) AS deleted
}
CALL (u, row, kept) {
  UNWIND [k IN keys(row.edges) WHERE NOT k IN kept] AS k
  WITH row.edges[k] AS e
  MATCH (c:Concept {id: e.concept})
  CREATE (u)-[r:INTERESTED_IN {extractor: $extractor, horizon: e.horizon}]->(c)
  SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
      r.updated_seq = e.updated_seq, r.support = e.support, r.digest = e.digest, r.run = $run
  RETURN count(*) AS created
}
RETURN sum(created) AS created, sum(changed) AS changed, sum(deleted) AS deleted
