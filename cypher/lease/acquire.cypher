// Take the writer lease $name for $token when it is free, expired, already held by $token, or held by $dead (a
// holder on this host whose process is gone). The node's write lock is taken (SET locked_at) before anything is
// read, so two takers are serialised and the second sees what the first committed. Times are the server's
// clock in ms (timestamp()), so the hosts' clocks never matter.
// Params: $name, $token, $dead (token or null), $owner (the command), $host, $pid, $pid_started, $ttl_ms.
MERGE (l:WriterLease {name: $name})
SET l.locked_at = timestamp()
WITH l, timestamp() AS now
WITH l, now, (l.token IS NULL OR l.token = $token OR l.expires < now OR l.token = $dead) AS free
CALL (l, free, now) {
  WITH l, now WHERE free
  SET l.token = $token, l.owner = $owner, l.host = $host, l.pid = $pid, l.pid_started = $pid_started,
      l.acquired = now, l.heartbeat = now, l.expires = now + $ttl_ms
}
RETURN free AS acquired, l.token AS token, l.owner AS owner, l.host AS host, l.pid AS pid,
       l.pid_started AS pid_started, now - l.acquired AS held_ms, now - l.heartbeat AS heartbeat_ago_ms,
       l.expires - now AS expires_in_ms
