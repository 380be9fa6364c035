// Give the writer lease $name back, when $token still holds it (a lease taken over by another writer is left
// alone). The node stays, empty, for the next writer.
MATCH (l:WriterLease {name: $name})
WHERE l.token = $token
REMOVE l.token, l.owner, l.host, l.pid, l.pid_started, l.acquired, l.heartbeat, l.expires
RETURN count(l) AS released
