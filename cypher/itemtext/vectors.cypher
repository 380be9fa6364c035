// The stored text vectors of model $model (float32 bytes, kgrec_neo4j/model/itemtext.py) of the items $ids, or,
// with $ids null, of every item run $run trained (a vector of the run, not folded in): one record of two lists (a
// record per item is what costs, not the bytes). What new items' nearest trained items by text are found among
// (kgrec_neo4j/model/newitems.py, text_neighbours).
// Params: $model, $ids (a list of Item.id, or null), $run.
MATCH (i:Item)
WHERE ($ids IS NULL OR i.id IN $ids) AND i.text_vector IS NOT NULL AND i.text_vector_model = $model
  AND ($ids IS NOT NULL OR (i.gnn_run = $run AND coalesce(i.gnn_folded_run, '') <> $run))
WITH i ORDER BY i.id
RETURN collect(i.id) AS ids, collect(i.text_vector) AS vectors
