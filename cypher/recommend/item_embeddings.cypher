// Every item embedding of run $run (loaded once per process into a numpy matrix): in gnn_embedding, or in
// gnn_prev_embedding while a newer run writes its vectors.
MATCH (i:Item)
WHERE i.gnn_run = $run OR i.gnn_prev_run = $run
WITH i, CASE WHEN i.gnn_run = $run THEN i.gnn_embedding
             WHEN i.gnn_prev_run = $run THEN i.gnn_prev_embedding END AS embedding
WHERE embedding IS NOT NULL
RETURN i.id AS id, i.title AS title, embedding
ORDER BY id
