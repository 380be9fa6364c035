// The item links of run $run into each item of $ids (the item graph's incoming weights of trained items), as one
// row: a list of [target id, [source ids], [weights]] (one record: fetching thousands is what costs). Borrowed
// links (those of folded-in items) are not read.
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (w:Item {id: id})<-[l:ITEM_LINK]-(j:Item)
WHERE l.run = $run AND l.borrowed IS NULL
WITH id, collect(j.id) AS sources, collect(l.weight) AS weights
RETURN collect([id, sources, weights]) AS links
