// INTERACTED edges with review text (title or body), in a stable order, for the text classifier.
// $edges: the element ids of the edges to classify (interactions/since: a seek each, no scan of the users); null:
// every edge of $users (null: of every user). Each selection is its own branch, entered only when its parameters
// ask for it: a user list is a seek per user by id, never a scan of every user with the list as a filter.
CALL () {
  UNWIND CASE WHEN $edges IS NULL AND $users IS NULL THEN [1] ELSE [] END AS every
  CALL (every) {  // correlated: each branch's match runs once per row of its list, whatever the plan (a planner
    MATCH (u:User)-[e:INTERACTED]->(:Item)  // free to join an uncorrelated match with an empty list could still
    RETURN u, e                             // scan every user first)
  }
  RETURN u, e
  UNION ALL
  UNWIND CASE WHEN $edges IS NULL THEN coalesce($users, []) ELSE [] END AS uid
  CALL (uid) {
    MATCH (u:User {id: uid})-[e:INTERACTED]->(:Item)
    RETURN u, e
  }
  RETURN u, e
  UNION ALL
  UNWIND coalesce($edges, []) AS id
  CALL (id) {
    MATCH (u:User)-[e:INTERACTED]->(:Item)
    WHERE elementId(e) = id
    RETURN u, e
  }
  RETURN u, e
}
WITH u, e
WHERE (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '')
RETURN u.id AS user, e.seq AS seq, e.rating AS rating, e.review_title AS title, e.review_text AS text
ORDER BY user, seq
