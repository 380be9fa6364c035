// Heartbeat of the writer lease $name held by $token: move its expiry $ttl_ms past now (server clock).
// No row when the lease is no longer held by $token (it expired and another writer took it).
MATCH (l:WriterLease {name: $name})
WHERE l.token = $token
SET l.heartbeat = timestamp(), l.expires = timestamp() + $ttl_ms
RETURN l.expires AS expires
