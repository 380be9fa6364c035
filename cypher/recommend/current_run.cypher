// The ModelRun whose embeddings are current (exactly one is expected; the caller checks).
MATCH (r:ModelRun)
WHERE r.current = true
RETURN r.id AS run, r.created AS created
ORDER BY r.created DESC
