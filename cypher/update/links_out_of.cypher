// The item links of run $run out of each item of $ids (trained items: the neighbours new items borrow from) to the
// items it was trained with, as one row: a list of [id, [target element ids], [weights], the item's element id] (one
// record, the targets as element ids: as cypher/update/links_into.cypher reads the links in). Borrowed links (into
// folded-in items) are not read. A new item's own links out are its neighbours' links out
// (kgrec_neo4j/model/newitems.py).
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (w:Item {id: id})-[l:ITEM_LINK]->(x:Item)
WHERE l.run = $run AND l.borrowed IS NULL
WITH id, w, collect(elementId(x)) AS targets, collect(l.weight) AS weights
RETURN collect([id, targets, weights, elementId(w)]) AS links
