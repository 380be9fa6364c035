// Users of one batch (new ones, or ones whose interactions changed): dataset, interaction count, and the
// load's ingest stamp (`kgrec update` recomputes what derives from a stamped user). Returns how many were new.
UNWIND $rows AS row
OPTIONAL MATCH (seen:User {id: row.id})
MERGE (u:User {id: row.id})
SET u.dataset = $dataset, u.n_interactions = row.n, u.ingest = $ingest
RETURN count(CASE WHEN seen IS NULL THEN 1 END) AS new
