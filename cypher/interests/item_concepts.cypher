// Concepts of a batch of items (HAS_KNOWLEDGE at or above $min_confidence; missing confidence = 1.0).
UNWIND $items AS iid
MATCH (i:Item {id: iid})-[h:HAS_KNOWLEDGE]->(c:Concept)
WHERE coalesce(h.confidence, 1.0) >= $min_confidence
RETURN iid AS item, collect([c.id, coalesce(h.confidence, 1.0)]) AS concepts
