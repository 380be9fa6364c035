// The ModelRun whose embeddings are current (exactly one is expected; the caller checks), and its version
// (bumped when `kgrec update` folds new items into it).
MATCH (r:ModelRun)
WHERE r.current = true
RETURN r.id AS run, r.created AS created, coalesce(r.version, 0) AS version
ORDER BY r.created DESC
