// Mentions (by type and key) that no item mentions any more are removed, with their CANONICAL edges. A mention a
// user's pending interest still points at ((:User)-[:INTEREST_MENTION]->(m), for `kgrec concepts grow`) is kept.
UNWIND $old AS o
MATCH (m:Mention {type: o.type, key: o.key})
WHERE NOT (m)<-[:MENTIONS]-() AND NOT (m)<-[:INTEREST_MENTION]-()
DETACH DELETE m
RETURN count(*) AS deleted
