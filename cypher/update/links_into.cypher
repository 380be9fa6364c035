// The item links of run $run into each item of $ids (the item graph's incoming weights of trained items), as one
// row: a list of [target id, [source element ids], [weights], the target's element id] (one record: fetching thousands is what costs; the
// sources as element ids, not their ids: a neighbour has about a hundred incoming links, and reading each source's
// id was a third of the query; the caller reads the ids of the distinct sources once). Borrowed links (those of
// folded-in items) are not read.
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (w:Item {id: id})<-[l:ITEM_LINK]-(j:Item)
WHERE l.run = $run AND l.borrowed IS NULL
WITH id, w, collect(elementId(j)) AS sources, collect(l.weight) AS weights
RETURN collect([id, sources, weights, elementId(w)]) AS links
