// The item graph's part of run $run's score: score(u, i) = <u, i> + $weight * sum over u's train items j of
// x[u, j] * ITEM_LINK(j -> i).weight, with x = 1, or $dislike_value for an item the user only disliked; $count links
// written, at most $top_k into each item (null: every nonzero weight).
MATCH (r:ModelRun {id: $run})
SET r.item_link_weight = $weight, r.item_link_dislike_value = $dislike_value, r.item_link_count = $count,
    r.item_link_top_k = $top_k
