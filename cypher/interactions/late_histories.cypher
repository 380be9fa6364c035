// The histories of the users with a train interaction after one of their valid or test ones (by seq; the users
// cypher/train/late_train_users counts, which evaluation refuses): each as [seq, split] of its interactions that have
// a seq. $dataset: one dataset's users (null: every user).
MATCH (u:User)-[h:INTERACTED]->(:Item)
WHERE h.split IN ['valid', 'test'] AND ($dataset IS NULL OR u.dataset = $dataset)
WITH u, min(h.seq) AS first_held
WHERE EXISTS { (u)-[t:INTERACTED]->(:Item) WHERE t.split = 'train' AND t.seq > first_held }
RETURN u.id AS user, [(u)-[e:INTERACTED]->(:Item) WHERE e.seq IS NOT NULL | [e.seq, e.split]] AS history
ORDER BY user
