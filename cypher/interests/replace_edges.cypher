// Replace the INTERESTED_IN edges of one extractor for a batch of users (all of them: a user with no
// rows loses the old edges). Runs in one transaction with the batch, so a user is never half-written.
// Written as a difference: an edge whose (concept, horizon) the user keeps is updated in place, only the
// edges of concepts the user no longer has are deleted and only new ones created (deleting and creating
// relationships of a popular concept is what costs; updating properties does not).
// $rows: one per user of the batch: [{user, keys: [[concept id, horizon], ...], edges: [{concept, horizon,
// polarity, weight, confidence, evidence, updated_seq, support}]}] (keys: the edges' (concept, horizon) pairs).
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u, row) {
  MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept)
  WHERE NOT [c.id, r.horizon] IN row.keys
  DELETE r
}
CALL (u, row) {
  UNWIND row.edges AS e
  MATCH (c:Concept {id: e.concept})
  MERGE (u)-[r:INTERESTED_IN {extractor: $extractor, horizon: e.horizon}]->(c)
  SET r.polarity = e.polarity, r.weight = e.weight, r.confidence = e.confidence, r.evidence = e.evidence,
      r.updated_seq = e.updated_seq, r.support = e.support, r.run = $run
  RETURN count(*) AS created
}
RETURN sum(created) AS created
