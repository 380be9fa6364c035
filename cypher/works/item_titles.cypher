// Every titled item with the keys of its mentions of the platform type (read to find SAME_WORK links).
// Parameters: $platform_type (knowledge type that holds platforms, e.g. 'Compatibility').
MATCH (i:Item) WHERE i.title IS NOT NULL
RETURN i.id AS id, i.title AS title, [(i)-[:MENTIONS]->(m:Mention {type: $platform_type}) | m.key] AS platforms
ORDER BY id
