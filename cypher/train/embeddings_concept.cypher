// Write one batch of Concept GNN embeddings of run $run. row: {id, embedding: [float]}
UNWIND $rows AS row
MATCH (n:Concept {id: row.id})
SET n.gnn_embedding = row.embedding, n.gnn_run = $run
RETURN count(n) AS written
