// The users whose history is no longer split last-two-out: a train interaction after one of their valid or test
// ones (by seq, an edge without one being the latest: recorded live after the last load split the history, or typed
// in Browser without a seq; the users cypher/train/late_train_users
// counts, which evaluation refuses), or more than one valid or test interaction (cypher/load/split_twice: an append
// killed between its rows and their splits, before 2026-12-03). $dataset: one dataset's users (null: every user).
MATCH (u:User)-[h:INTERACTED]->(:Item)
WHERE h.split IN ['valid', 'test'] AND ($dataset IS NULL OR u.dataset = $dataset)
WITH u, min(h.seq) AS first_held, sum(CASE h.split WHEN 'test' THEN 1 ELSE 0 END) AS tests,
     sum(CASE h.split WHEN 'valid' THEN 1 ELSE 0 END) AS valids
WHERE tests > 1 OR valids > 1
   OR EXISTS { (u)-[t:INTERACTED]->(:Item) WHERE t.split = 'train' AND (t.seq IS NULL OR t.seq > first_held) }
RETURN u.id AS user
ORDER BY user
