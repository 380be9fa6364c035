// The concept an id names today: the concept itself, or the one that absorbed it (its aliases).
MATCH (c:Concept)
WHERE c.id = $id OR $id IN coalesce(c.aliases, [])
RETURN c.id AS id, c.type AS type, c.name AS name, c.id = $id AS direct
ORDER BY direct DESC
LIMIT 1
