// Embedding models the existing vocabularies were built with.
MATCH (k:KnowledgeType) WHERE k.concept_model IS NOT NULL AND EXISTS { (:Concept)-[:OF_TYPE]->(k) }
RETURN DISTINCT k.concept_model AS m
