// Per item of $ids: its HAS_KNOWLEDGE concepts of run $run at or above $min_confidence (no confidence counts as
// 1.0); an item without any has no row.
// Params: $ids (list of Item.id), $run, $min_confidence.
UNWIND $ids AS id
MATCH (i:Item {id: id})-[h:HAS_KNOWLEDGE]->(c:Concept)
WHERE coalesce(h.confidence, 1.0) >= $min_confidence AND (c.gnn_run = $run OR c.gnn_prev_run = $run)
RETURN id AS item, collect(c.id) AS concepts
