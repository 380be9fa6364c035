// Keep the median length of run $run's trained item vectors on the run (cypher/update/trained_norm.cypher), so
// later updates read one number instead of every trained vector. Params: $run, $median.
MATCH (r:ModelRun {id: $run})
WHERE r.item_norm_median IS NULL
SET r.item_norm_median = $median
