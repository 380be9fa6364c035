// Mark runs whose process ended without finishing them as failed (only while they are still 'running').
UNWIND $ids AS id
MATCH (r:ModelRun {id: id})
WHERE r.status = 'running'
SET r.status = 'failed', r.error = $error, r.finished = datetime()
RETURN count(r) AS failed
