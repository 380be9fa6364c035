// Titled items stored under one of the work keys $keys, other than $ids (the groups an update regroups), with
// the keys of their platform mentions (see works/item_titles).
// Parameters: $platform_type, $keys (work keys), $ids (item ids left out: read already).
MATCH (i:Item) WHERE i.work_key IN $keys AND i.title IS NOT NULL AND NOT i.id IN $ids
RETURN i.id AS id, i.title AS title, [(i)-[:MENTIONS]->(m:Mention {type: $platform_type}) | m.key] AS platforms,
       i.work_key AS work_key, i.work_title AS work_title, i.dataset AS dataset
ORDER BY id
