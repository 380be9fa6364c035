// What the squared length of each item of $ids over its knowledge is made of, as update/knowledge_neighbours
// weighs it: the holder counts of its HAS_KNOWLEDGE concepts of run $run (confidence at or above $min_confidence)
// held by at most $max_items items (the length is the sum of their inverses).
// Params: $ids (list of Item.id), $run, $min_confidence, $max_items.
UNWIND $ids AS id
MATCH (m:Item {id: id})-[h:HAS_KNOWLEDGE]->(c:Concept)
WHERE coalesce(h.confidence, 1.0) >= $min_confidence AND (c.gnn_run = $run OR c.gnn_prev_run = $run)
WITH id, COUNT { (c)<-[:HAS_KNOWLEDGE]-() } AS df
WHERE df <= $max_items
RETURN id, collect(df) AS counts
