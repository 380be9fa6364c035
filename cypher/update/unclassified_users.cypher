// Users with an interaction stamped with an ingest number in ($previous, $ingest] (new or changed by a load: the
// load stamps the user too), or with one no classification has seen (no kind_source: written by any other client,
// e.g. in Browser).
CALL () {
  MATCH (u:User) WHERE u.ingest > $previous AND u.ingest <= $ingest
  RETURN u.id AS id
  UNION
  MATCH (u:User) WHERE EXISTS { (u)-[e:INTERACTED]->() WHERE e.kind_source IS NULL }
  RETURN u.id AS id
}
RETURN id
