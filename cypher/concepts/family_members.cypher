// Concepts of one knowledge type with the keys of their member mentions (read by the family relation).
// Parameters: $type (knowledge type name).
MATCH (c:Concept {type: $type})
RETURN c.id AS id, c.name AS name, c.key AS key, [(m:Mention)-[:CANONICAL]->(c) | m.key] AS keys
ORDER BY c.id
