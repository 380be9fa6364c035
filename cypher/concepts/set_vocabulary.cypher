// Record the similarity floor and acceptance threshold a type's vocabulary was built with.
MATCH (k:KnowledgeType {name: $type})
SET k.concept_floor = $floor, k.concept_acceptance = $acceptance, k.concept_band = coalesce($band, k.concept_band),
    k.concept_built_at = coalesce(k.concept_built_at, datetime()), k.concept_model = $model
