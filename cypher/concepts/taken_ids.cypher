// Which of the candidate ids are already used, as a concept id or as an alias of a merged concept.
MATCH (c:Concept)
WHERE c.id IN $ids OR any(a IN coalesce(c.aliases, []) WHERE a IN $ids)
RETURN [x IN $ids WHERE x = c.id OR x IN coalesce(c.aliases, [])] AS taken
