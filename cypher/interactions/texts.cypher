// INTERACTED edges with review text (title or body), in a stable order, for the text classifier.
// $since: only edges a classification has not seen (no kind_source) or stamped by a load after ingest $since
// (null: every edge of $users).
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE ($users IS NULL OR u.id IN $users)
  AND ($since IS NULL OR e.kind_source IS NULL OR e.ingest > $since)
  AND (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '')
RETURN u.id AS user, e.seq AS seq, e.rating AS rating, e.review_title AS title, e.review_text AS text
ORDER BY user, seq
