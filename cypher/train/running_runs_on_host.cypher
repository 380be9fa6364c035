// Runs still marked 'running' that were started by a process of host $host (with their pid and process start time).
MATCH (r:ModelRun)
WHERE r.status = 'running' AND r.host = $host AND r.pid IS NOT NULL
RETURN r.id AS id, r.pid AS pid, r.pid_started AS started
ORDER BY id
