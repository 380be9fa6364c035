// Bring the INTERESTED_IN edges of one extractor of a batch of users to what the caller computed, from what it read
// of them (cypher/interests/train_interactions.cypher, `stored`): per user only the edges that changed are sent.
// Runs in one transaction with the batch, so a user is never half-written; one writer at a time writes derived
// state (the writer lease, kgrec_neo4j/core/lease.py), so what the caller read is what is stored.
// An edge of a (concept, horizon) in `upsert` that the user has is updated in place only when one of its values
// changed (compared through `digest`, a hash of the written values that the caller computes; an edge without one
// counts as changed), so `run` names the run that last changed it; an edge whose key is in `delete` is deleted; the
// keys of `upsert` the user does not have are created. No MERGE: matching an edge into a popular concept from both
// ends is what costs.
// $rows: one per user with a change: [{user, upsert: {"<concept id>|<horizon>": {concept, horizon, polarity, weight,
// confidence, evidence, updated_seq, support, digest}}, delete: ["<concept id>|<horizon>"]}]; $extractor, $run.
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u, row) {
  OPTIONAL MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept)
  WITH r, c.id + '|' + r.horizon AS key
  // (an edge whose horizon is not 'long' or 'short', written by hand, has no key the caller could send: it goes)
  WITH r, key, row.upsert[key] AS e,
       r IS NOT NULL AND (coalesce(key IN row.delete, false) OR NOT coalesce(r.horizon IN ['long', 'short'], false)) AS gone
  // (a stored edge with a weight or polarity this extractor does not write was edited by hand: its digest no longer
  // says what it holds, cypher/interests/train_interactions.cypher)
  WITH r, key, e, gone,
       e IS NOT NULL AND NOT coalesce(r.digest = e.digest AND r.polarity IN [1, -1] AND r.weight > 0 AND r.weight <= 1,
                                      false) AS changed
  FOREACH (_ IN CASE WHEN gone THEN [1] ELSE [] END | DELETE r)
  FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
        r.updated_seq = e.updated_seq, r.support = e.support, r.digest = e.digest, r.run = $run)
  RETURN collect(key) AS kept, sum(CASE WHEN changed THEN 1 ELSE 0 END) AS changed,
         sum(CASE WHEN gone THEN 1 ELSE 0 END) AS deleted
}
CALL (u, row, kept) {
  UNWIND [k IN keys(row.upsert) WHERE NOT k IN kept] AS k
  WITH row.upsert[k] AS e
  MATCH (c:Concept {id: e.concept})
  CREATE (u)-[r:INTERESTED_IN {extractor: $extractor, horizon: e.horizon}]->(c)
  SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
      r.updated_seq = e.updated_seq, r.support = e.support, r.digest = e.digest, r.run = $run
  RETURN count(*) AS created
}
RETURN sum(created) AS created, sum(changed) AS changed, sum(deleted) AS deleted
