// After run $run became current: remove, one batch at a time, GNN embeddings written by any other run, with
// the node's previous-run slot (call until 0). A node whose previous slot holds $run (another write-back started
// meanwhile) gets $run's vector back. Previous-run slots of nodes that hold $run are cleared_prev_embeddings'.
MATCH (n:User|Item|Concept)
WHERE n.gnn_embedding IS NOT NULL AND coalesce(n.gnn_run, '') <> $run
WITH n LIMIT $limit
WITH n, CASE WHEN n.gnn_prev_run = $run THEN n.gnn_prev_embedding END AS embedding
SET n.gnn_embedding = embedding, n.gnn_run = CASE WHEN embedding IS NOT NULL THEN $run END
REMOVE n.gnn_prev_embedding, n.gnn_prev_run
RETURN count(n) AS cleared
