// Forget the Graph-RAG extractor's state for a batch of users (edges, pending interest mentions, progress, the reason
// of a failure of $extractor, a pending restart).
UNWIND $users AS uid
MATCH (u:User {id: uid})
CALL (u) {
  MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(:Concept)
  DELETE r
}
CALL (u) {
  MATCH (u)-[x:INTEREST_MENTION {extractor: $extractor}]->(m:Mention)
  DELETE x
  WITH DISTINCT m  // one that nothing points at any more goes (no item mentions it, no other user's interest)
  WHERE NOT (m)<-[:MENTIONS]-() AND NOT (m)<-[:INTEREST_MENTION]-()
  DETACH DELETE m
}
REMOVE u.interests_llm_upto, u.interests_restart_pending
WITH u
CALL (u) {
  WITH u WHERE u.interests_error_by = $extractor
  REMOVE u.interests_error, u.interests_error_by, u.interests_failed_at
}
RETURN count(u) AS users
