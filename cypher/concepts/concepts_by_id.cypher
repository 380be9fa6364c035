MATCH (c:Concept) WHERE c.id IN $ids
RETURN c.id AS id, c.type AS type, c.name AS name, c.embedding AS embedding, coalesce(c.aliases, []) AS aliases
