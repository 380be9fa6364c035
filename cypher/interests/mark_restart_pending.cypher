// A switch of the Graph-RAG interests' scope starts: every user of $users is to be restarted (its earlier state read
// interactions of the other scope), until its first batch of the new scope is written (interests/write_llm_state)
// or its reset; a run interrupted half way leaves the others pending, and the next run restarts them.
// Params: $users (list of User.id).
UNWIND $users AS uid
MATCH (u:User {id: uid})
SET u.interests_restart_pending = true
RETURN count(u) AS users
