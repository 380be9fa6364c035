// The item links of run $run into each item of $ids (the item graph's incoming weights of a trained item):
// one row per target with its sources and weights. Borrowed links (those of folded-in items) are not read.
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (j:Item)-[l:ITEM_LINK {run: $run}]->(:Item {id: id})
WHERE l.borrowed IS NULL
RETURN id, collect(j.id) AS sources, collect(l.weight) AS weights
