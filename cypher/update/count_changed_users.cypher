// How many users have new or changed interactions: stamped with an ingest number in ($previous, $ingest] (a load,
// update/changed_users, counted on the user_ingest index), and, when $unseen (the counts at the start of the update
// said some edge has no kind_source), those with an interaction no classification has seen (written by another
// client: `kgrec serve --writes`, Browser), which the update's classification stamps.
CALL () {
  MATCH (u:User) WHERE u.ingest > $previous AND u.ingest <= $ingest
  RETURN u
  UNION
  WITH $unseen AS unseen WHERE unseen
  MATCH (u:User) WHERE EXISTS { (u)-[e:INTERACTED]->(:Item) WHERE e.kind_source IS NULL }
  RETURN u
}
RETURN count(u) AS users
