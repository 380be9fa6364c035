// The item links of run $run out of each item of $ids (trained items: the neighbours new items borrow from), as one
// row: a list of [id, [target element ids], [weights], [borrowed: the target is an item folded into the run and the
// link one it borrowed], the item's element id] (one record, the targets as element ids: as
// cypher/update/links_into.cypher reads the links in). A new item's own links out are its neighbours' links out
// (kgrec_neo4j/model/newitems.py).
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (w:Item {id: id})-[l:ITEM_LINK]->(x:Item)
WHERE l.run = $run
WITH id, w, collect(elementId(x)) AS targets, collect(l.weight) AS weights, collect(l.borrowed IS NOT NULL) AS borrowed
RETURN collect([id, targets, weights, borrowed, elementId(w)]) AS links
