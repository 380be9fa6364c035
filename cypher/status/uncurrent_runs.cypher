// With no run marked current: how many runs are stored, and the newest complete one (else the newest), with whether
// its item vectors are still written (a run replaced by a newer one has had them cleared; one whose `current` flag was
// removed by hand has not). No row without any run.
CALL () { MATCH (r:ModelRun) RETURN count(r) AS runs }
MATCH (r:ModelRun)
WITH runs, r ORDER BY coalesce(r.status = 'complete', false) DESC, r.created DESC LIMIT 1
RETURN runs, r.id AS id, coalesce(r.status, 'unknown') AS status,
       EXISTS { MATCH (i:Item) WHERE i.gnn_run = r.id OR i.gnn_prev_run = r.id } AS vectors
