// Per knowledge type: its stored vocabulary parameters and how many concepts it has.
MATCH (k:KnowledgeType)
RETURN k.name AS type, k.concept_floor AS floor, k.concept_acceptance AS acceptance,
       COUNT { (c:Concept {type: k.name}) } AS concepts
