// Ids of the items of dataset $dataset that the service recorded (POST /items, `kgrec serve --writes`) and no load
// has written since (cypher/load/items.cypher): they are in no file, so a reload of files without them would lose
// them.
MATCH (i:Item)
WHERE i.dataset = $dataset AND i.recorded IS NOT NULL
RETURN collect(i.id) AS ids
