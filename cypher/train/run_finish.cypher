// Record a run's outcome. metrics: JSON string; status: complete | failed.
MATCH (r:ModelRun {id: $id})
SET r.metrics = $metrics, r.status = $status, r.finished = datetime(), r.error = $error
RETURN r.id AS id
