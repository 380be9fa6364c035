// The knowledge of the items run $run trained (a vector of the run, not folded in), as the item graph's concept
// matrix has it: per item, its HAS_KNOWLEDGE concepts of the run at or above $min_confidence (no confidence
// counts as 1.0), as one row of [item id, concept ids...] lists (one record: fetching thousands is what costs).
// What new items' knowledge neighbours are found among (kgrec_neo4j/model/newitems.py: for an item without text,
// or with the setting borrow_from = knowledge).
// Params: $run, $min_confidence.
MATCH (i:Item)-[h:HAS_KNOWLEDGE]->(c:Concept)
WHERE i.gnn_run = $run AND coalesce(i.gnn_folded_run, '') <> $run
  AND coalesce(h.confidence, 1.0) >= $min_confidence AND (c.gnn_run = $run OR c.gnn_prev_run = $run)
WITH i, collect(c.id) AS concepts
RETURN collect([i.id] + concepts) AS items
