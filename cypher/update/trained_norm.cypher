// The median length of the item vectors run $run trained (items folded in later left out): what folded-in item
// vectors are scaled to (kgrec_neo4j/model/newitems.py). `stored`: the value kept on the run by an earlier update
// (cypher/update/store_trained_norm.cypher); only when there is none is every trained vector read (`$compute`).
// Params: $run, $compute.
MATCH (r:ModelRun {id: $run})
OPTIONAL CALL (r) {
  WITH r WHERE $compute AND r.item_norm_median IS NULL
  MATCH (i:Item)
  WHERE i.gnn_run = r.id AND coalesce(i.gnn_folded_run, '') <> r.id AND i.gnn_embedding IS NOT NULL
  RETURN percentileCont(sqrt(reduce(s = 0.0, x IN i.gnn_embedding | s + x * x)), 0.5) AS median
}
RETURN r.item_norm_median AS stored, median AS computed
