// Users of one batch (new ones, or ones whose interactions changed): dataset, interaction count, and the
// load's ingest stamp (`kgrec update` recomputes what derives from a stamped user).
UNWIND $rows AS row
MERGE (u:User {id: row.id})
SET u.dataset = $dataset, u.n_interactions = row.n, u.ingest = $ingest
