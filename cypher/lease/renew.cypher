// Heartbeat of the writer lease $name held by $token: move its expiry $ttl_ms past now (server clock). A lease
// that was wiped meanwhile (e.g. the database emptied by `kgrec demo --fresh`) is taken again. renewed is false
// when another writer holds it now (ours expired and was taken over).
// Params: $name, $token, $owner, $host, $pid, $pid_started, $ttl_ms.
MERGE (l:WriterLease {name: $name})
SET l.locked_at = timestamp()
WITH l, coalesce(l.token, $token) = $token AS mine
CALL (l, mine) {
  WITH l WHERE mine
  SET l.token = $token, l.owner = $owner, l.host = $host, l.pid = $pid, l.pid_started = $pid_started,
      l.acquired = coalesce(l.acquired, timestamp()), l.heartbeat = timestamp(), l.expires = timestamp() + $ttl_ms
}
RETURN mine AS renewed
