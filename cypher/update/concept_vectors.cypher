// The vectors of run $run of the concepts of $ids (those the run has).
UNWIND $ids AS id
MATCH (c:Concept {id: id})
WHERE c.gnn_run = $run OR c.gnn_prev_run = $run
RETURN c.id AS id, CASE WHEN c.gnn_run = $run THEN c.gnn_embedding ELSE c.gnn_prev_embedding END AS embedding
