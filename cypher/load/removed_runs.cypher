// The model runs that scored the items ($items) or users ($users) of dataset $dataset a reload removes (their
// `gnn_run`, or `gnn_prev_run` while a training's write-back has not yet made its run current): the load gives each a new version in the same transaction as the removal (cypher/update/run_version.cypher),
// so that a running `kgrec serve` loads the run again without them (it kept recommending a removed item, with the
// removed item's links in every score, until an update happened to fold something in).
// Params: $items, $users (lists of ids, either may be empty), $dataset.
CALL () {
  MATCH (i:Item) WHERE i.id IN $items AND i.dataset = $dataset
  RETURN [i.gnn_run, i.gnn_prev_run] AS runs
  UNION
  MATCH (u:User) WHERE u.id IN $users AND u.dataset = $dataset
  RETURN [u.gnn_run, u.gnn_prev_run] AS runs
}
UNWIND runs AS run
WITH DISTINCT run WHERE run IS NOT NULL
MATCH (r:ModelRun {id: run})
RETURN collect(r.id) AS runs
