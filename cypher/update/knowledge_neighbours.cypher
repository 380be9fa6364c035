// The trained items closest to each new item through its knowledge, as the item graph's concept paths weigh them:
// per item of $ids, its HAS_KNOWLEDGE concepts (confidence at or above $min_confidence, no confidence counts as
// 1.0; concepts of run $run) held by at most $max_items items, each weighted 1 / (number of items holding it) (a
// concept row of the item graph's concept matrix has unit length), and every item trained in $run (a vector of
// the run, not folded in) sharing one, with the holder counts of what they share (the caller sums 1 / count in a
// fixed order, so that a rerun gives the same bits). `counts` are the new item's own concepts' holder counts
// (its squared length is the sum of their inverses); the caller divides by the neighbour's (update/knowledge_norms).
// Params: $ids (list of Item.id), $run, $min_confidence, $max_items.
UNWIND $ids AS id
MATCH (n:Item {id: id})-[h:HAS_KNOWLEDGE]->(c:Concept)
WHERE coalesce(h.confidence, 1.0) >= $min_confidence AND (c.gnn_run = $run OR c.gnn_prev_run = $run)
WITH n, id, c, COUNT { (c)<-[:HAS_KNOWLEDGE]-() } AS df
WHERE df <= $max_items
WITH id, collect([c, df]) AS cs
WITH id, cs, [x IN cs | x[1]] AS counts
UNWIND cs AS cd
WITH id, counts, cd[0] AS c, cd[1] AS df
MATCH (c)<-[h2:HAS_KNOWLEDGE]-(m:Item)
WHERE m.id <> id AND m.gnn_run = $run AND coalesce(m.gnn_folded_run, '') <> $run
  AND coalesce(h2.confidence, 1.0) >= $min_confidence
WITH id, counts, m.id AS neighbour, collect(df) AS shared
RETURN id AS item, counts, collect([neighbour, shared]) AS neighbours
