// Run $id's clearing of every other run's embeddings, attention and item links is done (see run_set_current).
MATCH (r:ModelRun {id: $id})
SET r.stale_cleared = true
RETURN r.id AS id
