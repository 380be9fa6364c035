// Replace the INTERESTED_IN edges of one extractor for a batch of users (all of them: a user with no
// rows loses the old edges). Runs in one transaction with the batch, so a user is never half-written.
// $users: every user of the batch; $rows: [{user, edges: [{concept, horizon, polarity, weight, confidence,
// evidence, updated_seq, support}]}].
CALL {
  UNWIND $users AS uid
  MATCH (:User {id: uid})-[r:INTERESTED_IN {extractor: $extractor}]->(:Concept)
  DELETE r
}
CALL {
  UNWIND $rows AS row
  MATCH (u:User {id: row.user})
  UNWIND row.edges AS e
  MATCH (c:Concept {id: e.concept})
  CREATE (u)-[:INTERESTED_IN {horizon: e.horizon, polarity: e.polarity, weight: e.weight,
                              confidence: e.confidence, evidence: e.evidence, updated_seq: e.updated_seq,
                              support: e.support, extractor: $extractor, run: $run}]->(c)
  RETURN count(*) AS created
}
RETURN created
