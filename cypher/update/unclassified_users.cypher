// Users with an interaction stamped with an ingest number in ($previous, $ingest] (new or changed by a load: the
// load stamps the user too), or with one no classification has seen (no kind_source: written by any other client,
// e.g. in Browser). Whether any edge lacks a kind_source is read first from the counts (every INTERACTED edge into
// an Item, from the count store, against those with a kind_source, from the interacted_kind_source index; an edge
// into anything else, written by hand, is no interaction any stage reads): the edges themselves are scanned only
// when the two differ.
CALL () {
  MATCH (u:User) WHERE u.ingest > $previous AND u.ingest <= $ingest
  RETURN u.id AS id
  UNION
  CALL () { MATCH ()-[e:INTERACTED]->(:Item) RETURN count(e) AS edges }
  CALL () { MATCH ()-[e:INTERACTED]->() WHERE e.kind_source IS NOT NULL RETURN count(e) AS classified }
  WITH edges, classified WHERE edges > classified
  MATCH (u:User) WHERE EXISTS { (u)-[e:INTERACTED]->(:Item) WHERE e.kind_source IS NULL }
  RETURN u.id AS id
}
RETURN id
