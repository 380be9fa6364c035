// What a user's fold-in reads of the items of $ids under run $run: the fold-in features (LightGCN layers and
// stage-1 output, concatenated) and the train degree, from the main slots or the gnn_prev_* slots.
UNWIND $ids AS id
MATCH (i:Item {id: id})
WHERE i.gnn_run = $run OR i.gnn_prev_run = $run
WITH i, i.gnn_run = $run AS main
WITH i, CASE WHEN main THEN i.gnn_foldin ELSE i.gnn_prev_foldin END AS foldin,
        CASE WHEN main THEN i.gnn_degree ELSE i.gnn_prev_degree END AS degree
WHERE foldin IS NOT NULL
RETURN i.id AS id, foldin, degree
