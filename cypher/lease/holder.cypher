// Who holds the writer lease $name now (no row, or token null, when nobody does); times relative to the
// server's clock in ms.
MATCH (l:WriterLease {name: $name})
WITH l, timestamp() AS now
RETURN l.token AS token, l.owner AS owner, l.host AS host, l.pid AS pid, l.pid_started AS pid_started,
       now - l.acquired AS held_ms, now - l.heartbeat AS heartbeat_ago_ms, l.expires - now AS expires_in_ms
