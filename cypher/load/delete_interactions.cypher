// Remove interactions (row: {user, seq, item}) that a reload no longer has, and stamp their users with $ingest:
// their interests and everything else derived from these edges are recomputed by `kgrec update`. A row without seq
// is an edge typed without one (in Browser): no file has it, and every such edge of the user to the item goes.
// `deleted`: the edges deleted (a row without seq may stand for several).
UNWIND $rows AS row
MATCH (u:User {id: row.user})-[e:INTERACTED]->(i:Item {id: row.item})
WHERE e.seq = row.seq OR (row.seq IS NULL AND e.seq IS NULL)
DELETE e
WITH u, count(*) AS edges
SET u.ingest = $ingest
RETURN count(u) AS users, sum(edges) AS deleted
