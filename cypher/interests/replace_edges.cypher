// The changes to the INTERESTED_IN edges of one extractor for a batch of users, in one transaction (a user is never
// half-written). The caller read each user's stored edges as (key, digest) pairs (interests/train_interactions) and
// sends, per user with any change, the edges whose values changed or that are new (compared through `digest`, a
// hash of the written values; an edge without one counts as changed) and the keys of the edges to remove; an edge
// that is as it was is not sent, and keeps its `run` (the run that last changed it). The user's edges of $extractor
// are read once: a sent edge updates the one of its (concept, horizon) in place or is created when there is none; a
// key of `gone` is deleted. No MERGE: matching an edge into a popular concept from both ends is what costs, and one
// writer at a time writes derived state (the writer lease, kgrec_neo4j/core/lease.py).
// $rows: one per user with a change: [{user, edges: {"<concept id>|<horizon>": {concept, horizon, polarity, weight,
// confidence, evidence, updated_seq, support, digest}}, gone: ["<concept id>|<horizon>"]}]; $extractor, $run.
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u, row) {
  OPTIONAL MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept)
  WITH r, c.id + '|' + r.horizon AS key
  WITH r, key, row.edges[key] AS e
  WITH r, key, e, r IS NOT NULL AND key IN row.gone AS gone, r IS NOT NULL AND e IS NOT NULL AS changed
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
