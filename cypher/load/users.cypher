UNWIND $rows AS row
MERGE (u:User {id: row.id})
SET u.dataset = $dataset, u.n_interactions = row.n
