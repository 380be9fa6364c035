// The edges of $users that a classification has not seen (no kind_source) or that a load stamped after ingest
// $since, per user as their element ids (what `kgrec update` classifies: set_without_text, texts and summary then seek
// these edges by id instead of scanning the users' edges again). $users: a list of user ids (a seek per user), or
// null for every user.
CALL () {
  UNWIND CASE WHEN $users IS NULL THEN [1] ELSE [] END AS every
  MATCH (u:User)-[e:INTERACTED]->(:Item)
  RETURN u, e
  UNION ALL
  UNWIND coalesce($users, []) AS uid
  MATCH (u:User {id: uid})-[e:INTERACTED]->(:Item)
  RETURN u, e
}
WITH u, e
WHERE e.kind_source IS NULL OR e.ingest > $since
RETURN u.id AS user, collect(elementId(e)) AS edges
