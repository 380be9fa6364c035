// Users to score: their embedding of run $run and their train items (excluded from recommendation; also the
// sources of the run's item links) as [item id, whether the user only disliked it] pairs.
// Valid/test items are NOT excluded: they are what a recommendation should hit.
// The embedding of $run is in gnn_embedding, or in gnn_prev_embedding while a newer run writes its vectors.
// current_runs: ids of the runs marked current now (the caller checks that it still scores with the right one).
WITH COLLECT { MATCH (r:ModelRun) WHERE r.current = true RETURN r.id } AS current_runs
UNWIND $users AS user_id
OPTIONAL MATCH (u:User {id: user_id})
RETURN user_id AS id,
       u IS NOT NULL AS found,
       CASE WHEN u.gnn_run = $run THEN u.gnn_embedding
            WHEN u.gnn_prev_run = $run THEN u.gnn_prev_embedding END AS embedding,
       u.gnn_run AS embedding_run, current_runs,
       COLLECT { MATCH (u)-[x:INTERACTED]->(i:Item) WHERE x.split = 'train'
                 WITH i, max(x.sign) AS best RETURN [i.id, best < 0] } AS train_items
