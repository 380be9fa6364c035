// Remove interactions (row: {user, seq, item}) that a reload no longer has, and stamp their users with $ingest:
// their interests and everything else derived from these edges are recomputed by `kgrec update`.
UNWIND $rows AS row
MATCH (u:User {id: row.user})-[e:INTERACTED {seq: row.seq}]->(i:Item {id: row.item})
DELETE e
WITH DISTINCT u
SET u.ingest = $ingest
RETURN count(u) AS users
