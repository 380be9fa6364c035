// Concepts of a batch of items (HAS_KNOWLEDGE at or above $min_confidence; missing confidence = 1.0), as one row:
// [item id, concept id, confidence] per edge (one record instead of one per item: the driver's cost is per record).
UNWIND $items AS iid
MATCH (i:Item {id: iid})-[h:HAS_KNOWLEDGE]->(c:Concept)
WHERE coalesce(h.confidence, 1.0) >= $min_confidence
RETURN collect([iid, c.id, coalesce(h.confidence, 1.0)]) AS rows
