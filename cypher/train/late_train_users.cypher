// Users with a train interaction after one of their valid or test ones (by seq; an edge without one is the latest,
// as training and serving count it): recorded live (`kgrec serve
// --writes`, POST /users/{user}/interactions, the README's Browser snippet) after the last load split the history
// (a load or an append splits each touched user's history again, its numbered edges; a live record does not, and an
// edge typed without seq is in no split's order until `kgrec interactions split` numbers it). Evaluation would train on
// what came after its targets. $dataset: one dataset's users (null: every user).
// One pass over each user's edges (the first held-out seq and the last train one, an edge without seq the latest):
// 0.69 s on the full Video Games graph (453k interactions) where two passes took 0.87 s.
MATCH (u:User)
WHERE $dataset IS NULL OR u.dataset = $dataset
CALL (u) {
  MATCH (u)-[e:INTERACTED]->(:Item)
  RETURN min(CASE WHEN e.split IN ['valid', 'test'] THEN e.seq END) AS first_held,
         max(CASE WHEN coalesce(e.split, 'train') = 'train' THEN coalesce(toFloat(e.seq), 1.0e308) END) AS last_train
}
WITH u WHERE last_train > first_held
WITH u ORDER BY u.id
RETURN count(u) AS users, collect(u.id)[0..3] AS examples, collect(DISTINCT u.dataset) AS datasets
