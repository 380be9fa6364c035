// Titled items (all of them, or those of $ids) with the keys of their mentions of the platform type and their
// stored work key and dataset (read to find SAME_WORK links: editions of one work within one dataset).
// Parameters: $platform_type (knowledge type that holds platforms, e.g. 'Compatibility'), $ids (item ids, or null
// for every item).
MATCH (i:Item) WHERE i.title IS NOT NULL AND ($ids IS NULL OR i.id IN $ids)
RETURN i.id AS id, i.title AS title, [(i)-[:MENTIONS]->(m:Mention {type: $platform_type}) | m.key] AS platforms,
       i.work_key AS work_key, i.work_title AS work_title, i.dataset AS dataset
ORDER BY id
