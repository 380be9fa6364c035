// Counts of classified INTERACTED edges by kind, source, text agreement and whether they have text.
// $edges: the element ids of the edges to count (interactions/since); null: every edge of $users (null: of every
// user). Each selection is its own branch, entered only when its parameters ask for it: a user list is a seek per
// user by id, never a scan of every user with the list as a filter.
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
RETURN e.kind AS kind, coalesce(e.kind_source, 'unclassified') AS source, e.text_agrees AS agrees,
       (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '') AS has_text,
       count(*) AS n
