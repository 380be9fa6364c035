// Items whose title or id contains $text (case-insensitive; null: every item), or whose title contains $moved (the
// search with its leading article moved behind: "godfather, the" for "the godfather"; null: none), the most
// interacted first.
// Parameters: $text, $moved, $limit
MATCH (i:Item)
WHERE $text IS NULL OR toLower(i.id) CONTAINS toLower($text) OR toLower(coalesce(i.title, '')) CONTAINS toLower($text)
   OR ($moved IS NOT NULL AND toLower(coalesce(i.title, '')) CONTAINS toLower($moved))
WITH i, COUNT { ()-[:INTERACTED]->(i) } AS interactions
ORDER BY interactions DESC, i.id
LIMIT $limit
RETURN i.id AS item, i.title AS title, interactions,
       COUNT { (i)-[:MENTIONS]->() } AS points,
       COUNT { (i)-[:HAS_KNOWLEDGE]->() } AS concepts
