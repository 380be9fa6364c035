// Counts of classified INTERACTED edges by kind, source, text agreement and whether they have text.
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE ($users IS NULL OR u.id IN $users)
RETURN e.kind AS kind, coalesce(e.kind_source, 'unclassified') AS source, e.text_agrees AS agrees,
       (trim(coalesce(e.review_text, '')) <> '' OR trim(coalesce(e.review_title, '')) <> '') AS has_text,
       count(*) AS n
