// Every concept of the given types with its exact embedding and medoid key (the in-memory exact search).
// Parameters: $types (knowledge type names).
MATCH (c:Concept) WHERE c.type IN $types
RETURN c.type AS type, c.id AS id, c.key AS key, c.embedding AS embedding
ORDER BY type, id
