// What an item's fold-in reads of its knowledge: per item of $ids, every HAS_KNOWLEDGE edge at or above
// $min_confidence (no confidence counts as 1.0) to a concept with a vector of run $run, as
// [concept id, concept type, confidence, the concept's vector].
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN id AS item,
       COLLECT { MATCH (i)-[h:HAS_KNOWLEDGE]->(c:Concept)
                 WHERE coalesce(h.confidence, 1.0) >= $min_confidence
                   AND (c.gnn_run = $run OR c.gnn_prev_run = $run)
                 RETURN [c.id, c.type, coalesce(h.confidence, 1.0),
                         CASE WHEN c.gnn_run = $run THEN c.gnn_embedding ELSE c.gnn_prev_embedding END] } AS concepts
