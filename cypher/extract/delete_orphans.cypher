// Mentions (by type and key) that no item mentions any more are removed, with their CANONICAL edges.
UNWIND $old AS o
MATCH (m:Mention {type: o.type, key: o.key})
WHERE NOT (m)<-[:MENTIONS]-()
DETACH DELETE m
RETURN count(*) AS deleted
