// An item's knowledge: its concepts with their types, confidence, support and attention.
// :param item => 'B0018YDKBS'
MATCH (i:Item {id: $item})-[hk:HAS_KNOWLEDGE]->(c:Concept)
OPTIONAL MATCH (c)-[:OF_TYPE]->(t:KnowledgeType)
RETURN i.title AS item, coalesce(t.name, c.type) AS type, c.name AS concept, hk.confidence AS confidence,
       hk.support AS support, hk.attention AS attention
ORDER BY type, coalesce(hk.confidence, 1.0) * coalesce(hk.attention, 1.0) DESC, concept;
