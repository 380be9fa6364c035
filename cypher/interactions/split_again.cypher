// Split again, last-two-out by seq as a load does, the histories of the users $users (cypher/interactions/
// late_histories), each under a lock on its user node (a live record, cypher/interactions/record.cypher, takes the
// same lock before it reads the next seq): the interactions in seq order (equal seqs by timestamp, then element id),
// those without a seq (typed in Browser: the latest, as training and serving count them) numbered after the others in
// the order of their timestamps, the last one test and the one before it valid for a user with three or more, the others train. Each edge is set by
// itself, not matched again by its seq. A user whose splits change is stamped with $ingest, so that `kgrec update`
// recomputes the user's interests. Writes nothing for a history already split so (idempotent).
UNWIND $users AS id
MATCH (u:User {id: id})
CALL apoc.lock.nodes([u])
CALL (u) {
  MATCH (u)-[e:INTERACTED]->(:Item)
  WITH e ORDER BY e.seq, e.timestamp, elementId(e)
  WITH collect(e) AS es, coalesce(max(e.seq), -1) AS last, count(e.seq) AS known
  UNWIND range(0, size(es) - 1) AS k
  WITH es[k] AS e, CASE WHEN k >= known THEN last + 1 + k - known END AS numbered,
       CASE WHEN size(es) >= 3 AND k = size(es) - 1 THEN 'test'
            WHEN size(es) >= 3 AND k = size(es) - 2 THEN 'valid' ELSE 'train' END AS want
  WHERE e.split IS NULL OR e.split <> want OR numbered IS NOT NULL
  WITH e, want, numbered, e.split IS NULL OR e.split <> want AS split_changes
  SET e.split = want, e.seq = coalesce(numbered, e.seq)
  RETURN count(CASE WHEN split_changes THEN e END) AS moved, count(numbered) AS numbered
}
WITH u, moved, numbered
CALL (u, moved) {
  WITH u WHERE moved > 0
  SET u.ingest = CASE WHEN coalesce(u.ingest, 0) > $ingest THEN u.ingest ELSE $ingest END
}
RETURN sum(moved) AS edges, sum(numbered) AS numbered, count(CASE WHEN moved > 0 THEN u END) AS users,
       [x IN collect(CASE WHEN moved > 0 THEN u.id END) WHERE x IS NOT NULL][0..5] AS examples
