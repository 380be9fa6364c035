// Concepts of one type with their embedding and member count.
MATCH (c:Concept {type: $type})
RETURN c.id AS id, c.name AS name, c.key AS key, c.embedding AS embedding,
       COUNT { (:Mention)-[:CANONICAL]->(c) } AS members
ORDER BY c.id
