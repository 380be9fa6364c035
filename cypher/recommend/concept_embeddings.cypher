// Every concept vector of run $run (loaded once per process with the item vectors): what a user's interests
// fold in from.
MATCH (c:Concept)
WHERE c.gnn_run = $run OR c.gnn_prev_run = $run
WITH c, CASE WHEN c.gnn_run = $run THEN c.gnn_embedding ELSE c.gnn_prev_embedding END AS embedding
WHERE embedding IS NOT NULL
RETURN c.id AS id, embedding
ORDER BY id
