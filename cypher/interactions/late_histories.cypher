// The users whose history is no longer split last-two-out: a train interaction after one of their valid or test
// ones (by seq, an edge without one being the latest: recorded live after the last load split the history, or typed
// in Browser without a seq; the users cypher/train/late_train_users
// counts, which evaluation refuses), or more than one valid or test interaction (cypher/load/split_twice: an append
// killed between its rows and their splits, before 2026-12-03). $dataset: one dataset's users (null: every user).
MATCH (u:User)
WHERE $dataset IS NULL OR u.dataset = $dataset
CALL (u) {
  MATCH (u)-[e:INTERACTED]->(:Item)
  RETURN min(CASE WHEN e.split IN ['valid', 'test'] THEN e.seq END) AS first_held,
         max(CASE WHEN coalesce(e.split, 'train') = 'train' THEN coalesce(toFloat(e.seq), 1.0e308) END) AS last_train,
         sum(CASE e.split WHEN 'test' THEN 1 ELSE 0 END) AS tests, sum(CASE e.split WHEN 'valid' THEN 1 ELSE 0 END) AS valids
}
WITH u WHERE tests > 1 OR valids > 1 OR last_train > first_held
RETURN u.id AS user
ORDER BY user
