// Forget the Graph-RAG extractor's state for a batch of users (edges, pending interest mentions, progress).
UNWIND $users AS uid
MATCH (u:User {id: uid})
CALL (u) {
  MATCH (u)-[r:INTERESTED_IN {extractor: $extractor}]->(:Concept)
  DELETE r
}
CALL (u) {
  MATCH (u)-[x:INTEREST_MENTION {extractor: $extractor}]->(:Mention)
  DELETE x
}
REMOVE u.interests_llm_upto
RETURN count(u) AS users
