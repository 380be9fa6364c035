// What a warm start reads of run $run's items: the fold-in features (the first block is the item's own trained
// embedding), the final vector, the train degree, and whether the vector was folded in by `kgrec update` rather
// than trained.
MATCH (i:Item)
WHERE i.gnn_run = $run OR i.gnn_prev_run = $run
WITH i, i.gnn_run = $run AS main
WITH i, main, CASE WHEN main THEN i.gnn_embedding ELSE i.gnn_prev_embedding END AS embedding,
        CASE WHEN main THEN i.gnn_foldin ELSE i.gnn_prev_foldin END AS foldin,
        CASE WHEN main THEN i.gnn_degree ELSE i.gnn_prev_degree END AS degree
WHERE embedding IS NOT NULL
RETURN i.id AS id, embedding, foldin, degree, main AND coalesce(i.gnn_folded_run = $run, false) AS folded
