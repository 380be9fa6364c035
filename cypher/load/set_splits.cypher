// New last-two-out splits of stored interactions (row: {user, seq, split}) after a user's history grew or
// changed; the edge and its user are stamped with $ingest.
UNWIND $rows AS row
MATCH (u:User {id: row.user})-[e:INTERACTED {seq: row.seq}]->(:Item)
SET e.split = row.split, e.ingest = $ingest, u.ingest = $ingest
RETURN count(e) AS edges
