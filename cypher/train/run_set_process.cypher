// Record which process runs a training run: host name, pid and the process start time (epoch seconds, that
// host's clock), so that a later run on the same host can tell a run whose process died (kill -9, crash) from
// one still running, even when the pid was reused.
MATCH (r:ModelRun {id: $id})
SET r.host = $host, r.pid = $pid, r.pid_started = $started
RETURN r.id AS id
