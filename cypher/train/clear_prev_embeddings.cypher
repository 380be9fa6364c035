// After run $run became current and clear_stale_embeddings ran: remove, one batch at a time, the previous-run
// slots (gnn_prev_*) the write-back kept for serving until the flip (call until 0).
// $datasets (null = all): users and items of other datasets are left alone.
MATCH (n:User|Item|Concept)
WHERE (n.gnn_prev_embedding IS NOT NULL OR n.gnn_prev_run IS NOT NULL)
  AND ($datasets IS NULL OR n:Concept OR n.dataset IN $datasets)
WITH n LIMIT $limit
REMOVE n.gnn_prev_embedding, n.gnn_prev_foldin, n.gnn_prev_degree, n.gnn_prev_ego, n.gnn_prev_run
RETURN count(n) AS cleared
