// Users with a train interaction after one of their valid or test ones (by seq; an edge without one is the latest,
// as training and serving count it): recorded live (`kgrec serve
// --writes`, POST /users/{user}/interactions, the README's Browser snippet) after the last load split the history
// (a load or an append splits each touched user's history again; a live record does not). Evaluation would train on
// what came after its targets. $dataset: one dataset's users (null: every user).
MATCH (u:User)-[h:INTERACTED]->(:Item)
WHERE h.split IN ['valid', 'test'] AND ($dataset IS NULL OR u.dataset = $dataset)
WITH u, min(h.seq) AS first_held
WHERE EXISTS { (u)-[t:INTERACTED]->(:Item) WHERE t.split = 'train' AND (t.seq IS NULL OR t.seq > first_held) }
WITH u ORDER BY u.id
RETURN count(u) AS users, collect(u.id)[0..3] AS examples, collect(DISTINCT u.dataset) AS datasets
