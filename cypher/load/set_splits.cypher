// New last-two-out splits of stored interactions (row: {user, seq, split}) after a user's history grew or
// changed; the user is stamped with $ingest (their interests follow the train split). The edge is not: its
// classification depends on its own content only, so a new split is no reason to classify it again.
UNWIND $rows AS row
MATCH (u:User {id: row.user})-[e:INTERACTED {seq: row.seq}]->(:Item)
SET e.split = row.split, u.ingest = $ingest
RETURN count(e) AS edges
