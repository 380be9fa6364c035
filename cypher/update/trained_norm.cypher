// The median length of the item vectors run $run trained (items folded in later left out): what folded-in item
// vectors are scaled to (kgrec_neo4j/model/newitems.py). Read from the run (`item_norm_median`, kept there by the
// run's first update, cypher/update/store_trained_norm.cypher); only when it has none is every trained vector read
// (`computed`: true). The subquery is correlated, so that read runs only when the filter on the run lets its row
// through, whatever the plan.
// Params: $run.
MATCH (r:ModelRun {id: $run})
OPTIONAL CALL (r) {
  WITH r WHERE r.item_norm_median IS NULL
  MATCH (i:Item)
  WHERE i.gnn_run = r.id AND coalesce(i.gnn_folded_run, '') <> r.id AND i.gnn_embedding IS NOT NULL
  RETURN percentileCont(sqrt(reduce(s = 0.0, x IN i.gnn_embedding | s + x * x)), 0.5) AS median
}
RETURN coalesce(r.item_norm_median, median) AS median, r.item_norm_median IS NULL AS computed
