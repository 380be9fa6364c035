// INTERACTED edges with review text (title or body), in a stable order, for the text classifier.
// $seqs: a map user id -> the seq values of the edges to classify (interactions/since; null: every edge of $users).
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE ($users IS NULL OR u.id IN $users)
  AND ($seqs IS NULL OR e.seq IN $seqs[u.id])
  AND (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '')
RETURN u.id AS user, e.seq AS seq, e.rating AS rating, e.review_title AS title, e.review_text AS text
ORDER BY user, seq
