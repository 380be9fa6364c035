// The strongest item links of one item in the current run's item graph: items whose score it raises for a
// user who has it ((:Item {id: $item})-[:ITEM_LINK]->(other)), strongest first.
// Parameters: $item, $limit
MATCH (r:ModelRun {current: true})
MATCH (:Item {id: $item})-[l:ITEM_LINK]->(o:Item)
WHERE l.run = r.id
RETURN o.id AS item, o.title AS title, l.weight AS weight, r.id AS run
ORDER BY l.weight DESC
LIMIT $limit
