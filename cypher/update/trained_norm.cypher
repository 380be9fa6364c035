// The median length of the item vectors run $run trained (items folded in later left out): what folded-in item
// vectors are scaled to (kgrec_neo4j/model/newitems.py). Read from the run (`item_norm_median`, kept there by the
// first update, cypher/update/store_trained_norm.cypher) or computed when it has none (`computed`: true).
// Params: $run.
MATCH (r:ModelRun {id: $run})
CALL (r) {
  MATCH (i:Item)
  WHERE r.item_norm_median IS NULL AND i.gnn_run = r.id AND coalesce(i.gnn_folded_run, '') <> r.id
        AND i.gnn_embedding IS NOT NULL
  RETURN percentileCont(sqrt(reduce(s = 0.0, x IN i.gnn_embedding | s + x * x)), 0.5) AS median
}
RETURN coalesce(r.item_norm_median, median) AS median, r.item_norm_median IS NULL AS computed
