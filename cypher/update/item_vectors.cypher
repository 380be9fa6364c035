// Write the folded-in vectors of items under run $run (row: {id, embedding, foldin, degree, scale}), marked with
// gnn_folded_run: the item got them from `kgrec update`, not from training. Only an item without a vector, or one
// folded into $run before, is written: trained vectors, and those of a newer run being written, are never
// overwritten. The vectors are float32 vector properties, as the training write-back stores them. `scale` is the
// length factor the vector was scaled by (null: none yet, the vector is zero), kept with `gnn_fold_version` = $version,
// the run's version once this fold-in completes (cypher/update/items_to_fold.cypher). `gnn_fold_first` = $version is
// written on an item's first fold-in into the run only: an item whose first fold-in was cut after this write is still
// new to the resumed update that folds it in again. A rerun writes the same values (idempotent).
UNWIND $rows AS row
MATCH (n:Item {id: row.id})
WHERE n.gnn_run IS NULL OR (n.gnn_run = $run AND n.gnn_folded_run = $run)
WITH n, row, n.gnn_run IS NULL AS first
SET n.gnn_fold_first = CASE WHEN first THEN $version ELSE n.gnn_fold_first END,
    n.gnn_degree = row.degree, n.gnn_run = $run, n.gnn_folded_run = $run, n.gnn_fold_scale = row.scale,
    n.gnn_fold_version = CASE WHEN row.scale IS NULL THEN null ELSE $version END
WITH n, row
CALL db.create.setNodeVectorProperty(n, 'gnn_embedding', row.embedding)
CALL db.create.setNodeVectorProperty(n, 'gnn_foldin', row.foldin)
RETURN count(n) AS written
