// Vector index over the current run's item embeddings (retrieval). Neo4j 5 vector indexes offer
// cosine or euclidean similarity; scores stay dot products (docs/graph-model.md), cosine is the nearest.
CREATE VECTOR INDEX item_gnn_embedding IF NOT EXISTS FOR (i:Item) ON (i.gnn_embedding)
OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}
