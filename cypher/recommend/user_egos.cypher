// Every trained user's own embedding of run $run (loaded once by a long-running service, so that its answers stay
// those of one run even after a newer run's write-back replaced the stored values).
MATCH (u:User)
WHERE u.gnn_run = $run OR u.gnn_prev_run = $run
WITH u, CASE WHEN u.gnn_run = $run THEN u.gnn_ego ELSE u.gnn_prev_ego END AS ego
WHERE ego IS NOT NULL
RETURN u.id AS id, ego
