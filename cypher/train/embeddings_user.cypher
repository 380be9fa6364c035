// Write one batch of User GNN embeddings of run $run. row: {id, embedding: [float]}
UNWIND $rows AS row
MATCH (n:User {id: row.id})
SET n.gnn_embedding = row.embedding, n.gnn_run = $run
RETURN count(n) AS written
