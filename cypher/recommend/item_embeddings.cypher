// Every item embedding written by run $run (loaded once per process into a numpy matrix).
MATCH (i:Item)
WHERE i.gnn_run = $run AND i.gnn_embedding IS NOT NULL
RETURN i.id AS id, i.title AS title, i.gnn_embedding AS embedding
ORDER BY id
