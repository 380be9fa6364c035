// One item: its fields, and its knowledge points (mentions) by type with their canonical concepts.
// Parameters: $item
MATCH (i:Item {id: $item})
OPTIONAL MATCH (i)-[r:MENTIONS]->(m:Mention)
OPTIONAL MATCH (m)-[cn:CANONICAL]->(c:Concept)
OPTIONAL MATCH (i)-[hk:HAS_KNOWLEDGE]->(c)
WITH i, m, r, c, cn, hk
ORDER BY m.type, coalesce(r.confidence, 1.0) DESC, m.text
RETURN i.id AS item, i.title AS title, i.brand AS brand, i.categories AS categories, i.dataset AS dataset,
       COUNT { ()-[:INTERACTED]->(i) } AS interactions,
       [p IN collect(CASE WHEN m IS NOT NULL THEN {type: m.type, text: m.text, extractor: r.extractor,
                                                   confidence: r.confidence, concept: c.id, concept_name: c.name,
                                                   similarity: cn.similarity, knowledge_confidence: hk.confidence}
                     END) | p] AS points
