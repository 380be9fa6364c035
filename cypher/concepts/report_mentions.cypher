// Every mention of one type with its number of item mentions and its concept (if any).
MATCH (m:Mention {type: $type})
OPTIONAL MATCH (m)-[:CANONICAL]->(c:Concept)
RETURN m.key AS key, m.text AS text, COUNT { (:Item)-[:MENTIONS]->(m) } AS mentions, c.id AS concept
