// Write one batch of User vectors of run $run. row: {id, embedding: [float], ego: [float]}
//   embedding  the user's final GNN vector at training time (what the train history folds in to);
//   ego        the user's own trained embedding e_u, which folding the user's current edges in starts from.
// The vectors (embedding, ego) are stored as float32 vector properties (db.create.setNodeVectorProperty),
// half the size of lists of floats; readers get lists of floats either way.
// The values being replaced move to the gnn_prev_* slots, so the current run stays readable until the flip of
// (:ModelRun).current (readers take whichever slot holds their run). The prev slots are kept when they hold the
// current run and the main slots do not (a killed run's values are then dropped instead).
// Rerunning a batch of the same run changes nothing more (idempotent).
WITH COLLECT { MATCH (r:ModelRun) WHERE r.current = true RETURN r.id } AS current_runs
UNWIND $rows AS row
MATCH (n:User {id: row.id})
WITH n, row, coalesce(n.gnn_run <> $run
                      AND NOT (n.gnn_prev_run IN current_runs AND NOT n.gnn_run IN current_runs), false) AS shift
SET n.gnn_prev_embedding = CASE WHEN shift THEN n.gnn_embedding ELSE n.gnn_prev_embedding END,
    n.gnn_prev_ego = CASE WHEN shift THEN n.gnn_ego ELSE n.gnn_prev_ego END,
    n.gnn_prev_run = CASE WHEN shift THEN n.gnn_run ELSE n.gnn_prev_run END
SET n.gnn_ego = null, n.gnn_run = $run
WITH n, row
CALL db.create.setNodeVectorProperty(n, 'gnn_embedding', row.embedding)
CALL (n, row) {
  WITH * WHERE row.ego IS NOT NULL
  CALL db.create.setNodeVectorProperty(n, 'gnn_ego', row.ego)
}
RETURN count(n) AS written
