// Users with an interaction no classification has seen (no kind_source: written by any other client, e.g. in
// Browser), or stamped with an ingest number in ($previous, $ingest] (new or changed by a load).
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE e.kind_source IS NULL OR (e.ingest > $previous AND e.ingest <= $ingest)
RETURN DISTINCT u.id AS id
