// The edges of $users that a classification has not seen (no kind_source) or that a load stamped after ingest
// $since, per user as their element ids (what `kgrec update` classifies: set_without_text, texts and summary then seek
// these edges by id instead of scanning the users' edges again).
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE ($users IS NULL OR u.id IN $users) AND (e.kind_source IS NULL OR e.ingest > $since)
RETURN u.id AS user, collect(elementId(e)) AS edges
