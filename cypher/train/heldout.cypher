// Held-out interactions (labels, never graph edges): every valid / test INTERACTED edge, as aligned lists
// (one record: far fewer Bolt records than one row per edge). $dataset (or null) keeps one dataset.
MATCH (u:User)-[r:INTERACTED]->(i:Item)
WHERE r.split IN ['valid', 'test']
  AND ($dataset IS NULL OR (u.dataset = $dataset AND i.dataset = $dataset))
WITH u.id AS user, i.id AS item, r.split AS split, r.seq AS seq
ORDER BY user, seq
RETURN collect(user) AS users, collect(item) AS items, collect(split) AS splits
