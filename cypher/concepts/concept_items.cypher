// Per concept: its type and the number of items that have it (HAS_KNOWLEDGE): the concept-size distribution.
// Parameters: none.
MATCH (c:Concept)
RETURN c.type AS type, COUNT { (:Item)-[:HAS_KNOWLEDGE]->(c) } AS items
