// Counts of classified INTERACTED edges by kind, source, text agreement and whether they have text.
// $seqs: a map user id -> the seq values of the edges to count (null: every edge of $users).
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE ($users IS NULL OR u.id IN $users)
  AND ($seqs IS NULL OR e.seq IN $seqs[u.id])
RETURN e.kind AS kind, coalesce(e.kind_source, 'unclassified') AS source, e.text_agrees AS agrees,
       (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '') AS has_text,
       count(*) AS n
