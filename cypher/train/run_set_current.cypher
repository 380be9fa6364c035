// Make $id the one current run (every other run is set to current = false in the same transaction).
MATCH (target:ModelRun {id: $id})
WITH target
MATCH (r:ModelRun)
SET r.current = (r.id = $id)
RETURN count(r) AS runs, sum(CASE WHEN r.current THEN 1 ELSE 0 END) AS current
