// The edges of $users that a classification has not seen (no kind_source) or that a load stamped after ingest
// $since, as seq values per user (what `kgrec update` classifies: set_without_text, texts and summary then read $seqs).
MATCH (u:User)-[e:INTERACTED]->(:Item)
WHERE ($users IS NULL OR u.id IN $users) AND (e.kind_source IS NULL OR e.ingest > $since)
RETURN u.id AS user, collect(e.seq) AS seqs
