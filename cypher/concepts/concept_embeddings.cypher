// Exact embeddings and medoid keys of the given concepts (for re-scoring index candidates).
MATCH (c:Concept) WHERE c.id IN $ids
RETURN c.id AS id, c.key AS key, c.embedding AS embedding
