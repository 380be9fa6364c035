// INTERACTED edges with review text (title or body), in a stable order, for the text classifier.
// $edges: the element ids of the edges to classify (interactions/since: a seek each, no scan of the users); null:
// every edge of $users (null: of every user).
CALL () {
  MATCH (u:User)-[e:INTERACTED]->(:Item)
  WHERE $edges IS NULL AND ($users IS NULL OR u.id IN $users)
  RETURN u, e
  UNION ALL
  UNWIND coalesce($edges, []) AS id
  MATCH (u:User)-[e:INTERACTED]->(:Item)
  WHERE elementId(e) = id
  RETURN u, e
}
WITH u, e
WHERE (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '')
RETURN u.id AS user, e.seq AS seq, e.rating AS rating, e.review_title AS title, e.review_text AS text
ORDER BY user, seq
