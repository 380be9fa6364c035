// Counts of classified INTERACTED edges by kind, source, text agreement and whether they have text.
// $edges: the element ids of the edges to count (interactions/since); null: every edge of $users (null: of every
// user).
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
RETURN e.kind AS kind, coalesce(e.kind_source, 'unclassified') AS source, e.text_agrees AS agrees,
       (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '') AS has_text,
       count(*) AS n
