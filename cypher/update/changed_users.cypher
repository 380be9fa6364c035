// Users stamped with an ingest number in ($previous, $ingest]: their interactions changed (a load) or the knowledge
// of items they interacted with did (an update).
MATCH (u:User)
WHERE u.ingest > $previous AND u.ingest <= $ingest
RETURN u.id AS id
ORDER BY id
