// Held-out interactions (labels, never graph edges): every valid / test INTERACTED edge with its sign (as the
// train projection takes it: the history-up-to-the-target protocol adds valid to the history), as aligned lists
// (one record: far fewer Bolt records than one row per edge). $dataset (or null) keeps one dataset.
MATCH (u:User)-[r:INTERACTED]->(i:Item)
WHERE r.split IN ['valid', 'test']
  AND ($dataset IS NULL OR (u.dataset = $dataset AND i.dataset = $dataset))
WITH u.id AS user, i.id AS item, r.split AS split, r.seq AS seq,
     sign(coalesce(r.sign, CASE WHEN r.rating IS NULL OR r.rating >= 4 THEN 1 WHEN r.rating <= 2 THEN -1 ELSE 0 END)) AS sign
ORDER BY user, seq
RETURN collect(user) AS users, collect(item) AS items, collect(split) AS splits, collect(sign) AS signs
