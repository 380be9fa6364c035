// Concepts linked by HAS_KNOWLEDGE whose type is not one of $types (at most 10, for the error message).
MATCH (:Item)-[:HAS_KNOWLEDGE]->(c:Concept)
WHERE NOT c.type IN $types OR c.type IS NULL
RETURN DISTINCT c.id AS id, c.type AS type
LIMIT 10
