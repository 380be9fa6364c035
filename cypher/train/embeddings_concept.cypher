// Write one batch of Concept GNN embeddings of run $run. row: {id, embedding: [float]}
// The vector is stored as a float32 vector property (db.create.setNodeVectorProperty), half the size of a
// list of floats; readers get a list of floats either way.
// The vector being replaced moves to gnn_prev_embedding / gnn_prev_run, so the current run stays readable
// until the flip of (:ModelRun).current (readers take whichever slot holds their run). The prev slot is kept
// when it holds the current run and the main slot does not (a killed run's vector is then dropped instead).
// Rerunning a batch of the same run changes nothing more (idempotent).
WITH COLLECT { MATCH (r:ModelRun) WHERE r.current = true RETURN r.id } AS current_runs
UNWIND $rows AS row
MATCH (n:Concept {id: row.id})
WITH n, row, coalesce(n.gnn_run <> $run
                      AND NOT (n.gnn_prev_run IN current_runs AND NOT n.gnn_run IN current_runs), false) AS shift
SET n.gnn_prev_embedding = CASE WHEN shift THEN n.gnn_embedding ELSE n.gnn_prev_embedding END,
    n.gnn_prev_run = CASE WHEN shift THEN n.gnn_run ELSE n.gnn_prev_run END
SET n.gnn_run = $run
WITH n, row
CALL db.create.setNodeVectorProperty(n, 'gnn_embedding', row.embedding)
RETURN count(n) AS written
