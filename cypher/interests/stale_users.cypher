// Users whose interactions changed after the offline interests last saw every change, who still hold offline interest
// edges: a load, reload or append stamped them (`User.ingest`) above `UpdateState.interests_upto` (set by `kgrec
// interests extract` over every user and by a completed `kgrec update`). Their edges read the splits as they were: a
// reload that drops each user's last interactions turns former train ones into valid and test, and the interests
// still carry them. $dataset: one dataset's users (null: every user).
OPTIONAL MATCH (s:UpdateState {id: 'graph'})
WITH coalesce(s.interests_upto, 0) AS upto
MATCH (u:User)
WHERE u.ingest > upto AND ($dataset IS NULL OR u.dataset = $dataset)
  AND EXISTS { (u)-[:INTERESTED_IN {extractor: 'offline'}]->(:Concept) }
WITH u ORDER BY u.id
RETURN count(u) AS users, collect(u.id)[0..3] AS examples
