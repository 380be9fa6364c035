// Remove interactions (row: {user, seq, item}) that a reload no longer has, and stamp their users with $ingest:
// their interests and everything else derived from these edges are recomputed by `kgrec update`. A row without seq
// is an edge typed without one (in Browser): no file has it.
UNWIND $rows AS row
MATCH (u:User {id: row.user})-[e:INTERACTED]->(i:Item {id: row.item})
WHERE e.seq = row.seq OR (row.seq IS NULL AND e.seq IS NULL)
DELETE e
WITH DISTINCT u
SET u.ingest = $ingest
RETURN count(u) AS users
