// The current run whose clearing of the other runs' data is still to do: a `kgrec train` stopped (killed) after its
// run became current and before it cleared (kgrec_neo4j/model/writeback.py, finish_cleanup). A run made current
// before this marker existed has none and counts as cleared.
MATCH (r:ModelRun)
WHERE r.current = true AND r.stale_cleared = false
RETURN r.id AS run, r.config AS config
