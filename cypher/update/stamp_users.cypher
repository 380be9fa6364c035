// Stamp the users $ids with the update's ingest number $ingest (users the classification step classifies: one with
// an interaction no classification had seen, e.g. written in Browser, or whose interests were computed before this
// classification: the update recomputes the interests of the stamped users, a resumed one too). A user
// stamped after $previous (where the interests stand) is recomputed already and keeps its stamp: the load's number,
// or the update's own from its knowledge step, as an update that is not resumed leaves them.
UNWIND $ids AS id
MATCH (u:User {id: id})
WHERE coalesce(u.ingest, 0) <= $previous
SET u.ingest = $ingest
RETURN count(u) AS users
