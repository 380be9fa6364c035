// After run $run became current: remove, one batch at a time, GNN vectors written by any other run, with the
// node's previous-run slots (call until 0). A node whose previous slots hold $run (another write-back started
// meanwhile) gets $run's values back. Previous-run slots of nodes that hold $run are clear_prev_embeddings'.
// $datasets (null = all): the datasets the run was trained on; users and items of other datasets keep what they
// have (a per-dataset run never deletes another dataset's state; concepts are shared and always in scope).
MATCH (n:User|Item|Concept)
WHERE n.gnn_embedding IS NOT NULL AND coalesce(n.gnn_run, '') <> $run
  AND ($datasets IS NULL OR n:Concept OR n.dataset IN $datasets)
WITH n LIMIT $limit
WITH n, n.gnn_prev_run = $run AS back
SET n.gnn_embedding = CASE WHEN back THEN n.gnn_prev_embedding END,
    n.gnn_foldin = CASE WHEN back THEN n.gnn_prev_foldin END,
    n.gnn_degree = CASE WHEN back THEN n.gnn_prev_degree END,
    n.gnn_ego = CASE WHEN back THEN n.gnn_prev_ego END,
    n.gnn_run = CASE WHEN back AND n.gnn_prev_embedding IS NOT NULL THEN $run END
REMOVE n.gnn_prev_embedding, n.gnn_prev_foldin, n.gnn_prev_degree, n.gnn_prev_ego, n.gnn_prev_run
RETURN count(n) AS cleared
