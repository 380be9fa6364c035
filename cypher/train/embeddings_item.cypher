// Write one batch of Item vectors of run $run. row: {id, embedding: [float], foldin: [float], degree: int}
//   embedding  the item's final GNN vector (scored against user vectors; the item_gnn_embedding vector index);
//   foldin     the item's LightGCN features h^0 .. h^(L-1) and its stage-1 output, concatenated (L + 1 blocks of
//              the embedding size): what folding a user in reads (kgrec_neo4j/model/foldin.py); empty for MF;
//   degree     the item's positive degree in the train graph.
// The vectors (embedding, foldin) are stored as float32 vector properties (db.create.setNodeVectorProperty),
// half the size of lists of floats; readers get lists of floats either way.
// The values being replaced move to the gnn_prev_* slots, so the current run stays readable until the flip of
// (:ModelRun).current (readers take whichever slot holds their run). The prev slots are kept when they hold the
// current run and the main slots do not (a killed run's values are then dropped instead).
// Rerunning a batch of the same run changes nothing more (idempotent).
WITH COLLECT { MATCH (r:ModelRun) WHERE r.current = true RETURN r.id } AS current_runs
UNWIND $rows AS row
MATCH (n:Item {id: row.id})
WITH n, row, coalesce(n.gnn_run <> $run
                      AND NOT (n.gnn_prev_run IN current_runs AND NOT n.gnn_run IN current_runs), false) AS shift
SET n.gnn_prev_embedding = CASE WHEN shift THEN n.gnn_embedding ELSE n.gnn_prev_embedding END,
    n.gnn_prev_foldin = CASE WHEN shift THEN n.gnn_foldin ELSE n.gnn_prev_foldin END,
    n.gnn_prev_degree = CASE WHEN shift THEN n.gnn_degree ELSE n.gnn_prev_degree END,
    n.gnn_prev_run = CASE WHEN shift THEN n.gnn_run ELSE n.gnn_prev_run END
SET n.gnn_foldin = null, n.gnn_degree = row.degree, n.gnn_run = $run
WITH n, row
CALL db.create.setNodeVectorProperty(n, 'gnn_embedding', row.embedding)
CALL (n, row) {
  WITH * WHERE row.foldin IS NOT NULL AND size(row.foldin) > 0
  CALL db.create.setNodeVectorProperty(n, 'gnn_foldin', row.foldin)
}
// a model without item-side fold-in features (MF: a user is its own embedding) stores an empty list: a vector
// property cannot be empty, and serving needs the property to tell the run from one trained before fold-in
SET n.gnn_foldin = CASE WHEN row.foldin IS NOT NULL AND size(row.foldin) = 0 THEN [] ELSE n.gnn_foldin END
RETURN count(n) AS written
