// Stamp the users $ids with the update's ingest number $ingest (users with an interaction no classification had
// seen, e.g. written in Browser: the update recomputes the interests of the stamped users, a resumed one too).
UNWIND $ids AS id
MATCH (u:User {id: id})
WHERE coalesce(u.ingest, 0) < $ingest
SET u.ingest = $ingest
RETURN count(u) AS users
