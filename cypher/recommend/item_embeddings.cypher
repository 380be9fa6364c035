// Every item vector of run $run (loaded once per process): the final embedding, the fold-in features and the
// train degree, from the main slots or, while a newer run writes its vectors, from the gnn_prev_* slots; and the
// item's dataset (a user is recommended items of their own dataset only).
MATCH (i:Item)
WHERE i.gnn_run = $run OR i.gnn_prev_run = $run
WITH i, i.gnn_run = $run AS main
WITH i, CASE WHEN main THEN i.gnn_embedding ELSE i.gnn_prev_embedding END AS embedding,
        CASE WHEN main THEN i.gnn_foldin ELSE i.gnn_prev_foldin END AS foldin,
        CASE WHEN main THEN i.gnn_degree ELSE i.gnn_prev_degree END AS degree
WHERE embedding IS NOT NULL
RETURN i.id AS id, i.title AS title, embedding, foldin, degree, i.dataset AS dataset
ORDER BY id
