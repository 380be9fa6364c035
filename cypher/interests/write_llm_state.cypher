// Write one batch of the Graph-RAG interest extractor, per user, in one transaction:
// replace the user's INTERESTED_IN edges of $extractor by the new state (row.edges), record interest
// texts that matched no concept as pending mentions for `kgrec concepts grow`
// ((:User)-[:INTEREST_MENTION]->(:Mention {pending: true})), and move the progress marker. A user in $fresh (a
// restart: this is its first batch) also loses its earlier pending mentions of $extractor, in this transaction, so
// a restart whose answers never come leaves the earlier state whole. A failure of $extractor kept on the user
// (interests/mark_failed) is removed, and so is a restart left pending by one: the user's batch went through.
// Params: $rows ([{user, edges, pending, upto}]), $fresh (list of User.id), $extractor, $run.
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u) {
  MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(:Concept)
  DELETE r
}
CALL (u) {
  WITH u WHERE u.id IN $fresh
  MATCH (u)-[x:INTEREST_MENTION {extractor: $extractor}]->(m:Mention)
  DELETE x
  WITH DISTINCT m  // one that nothing points at any more goes, as extract/delete_orphans removes an item's
  WHERE NOT (m)<-[:MENTIONS]-() AND NOT (m)<-[:INTEREST_MENTION]-()
  DETACH DELETE m
}
CALL (u, row) {
  UNWIND row.edges AS e
  MATCH (c:Concept {id: e.concept})
  CREATE (u)-[:INTERESTED_IN {horizon: e.horizon, polarity: e.polarity, weight: e.weight,
                              confidence: e.confidence, evidence: e.evidence, updated_seq: e.updated_seq,
                              support: e.support, extractor: $extractor, run: $run}]->(c)
}
CALL (u, row) {
  UNWIND row.pending AS p
  MERGE (m:Mention {type: p.type, key: p.key})
    ON CREATE SET m.text = p.text, m.pending = true, m.origin = 'interest'
  MERGE (u)-[x:INTEREST_MENTION {horizon: p.horizon, seq: p.seq}]->(m)
  SET x.polarity = p.polarity, x.weight_change = p.weight_change, x.confidence = p.confidence,
      x.evidence = p.evidence, x.extractor = $extractor
}
SET u.interests_llm_upto = row.upto
REMOVE u.interests_restart_pending
WITH u
CALL (u) {
  WITH u WHERE u.interests_error_by = $extractor
  REMOVE u.interests_error, u.interests_error_by, u.interests_failed_at
}
RETURN count(u) AS users
