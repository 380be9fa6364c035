// Make $id the one current run (every other run is set to current = false in the same transaction). Its clearing
// of the other runs' data is pending (stale_cleared = false) until `kgrec train` has done it
// (kgrec_neo4j/model/writeback.py, clear_stale; finish_cleanup does it later when that train was stopped first).
MATCH (target:ModelRun {id: $id})
SET target.stale_cleared = false
WITH target
MATCH (r:ModelRun)
SET r.current = (r.id = $id)
RETURN count(r) AS runs, sum(CASE WHEN r.current THEN 1 ELSE 0 END) AS current
