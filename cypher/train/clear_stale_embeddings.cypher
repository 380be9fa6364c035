// Remove, one batch at a time, GNN embeddings written by any run other than $run (call until 0).
MATCH (n:User|Item|Concept)
WHERE n.gnn_embedding IS NOT NULL AND coalesce(n.gnn_run, '') <> $run
WITH n LIMIT $limit
REMOVE n.gnn_embedding, n.gnn_run
RETURN count(n) AS cleared
