// The item-graph part of a session's score without loading the run's links (as recommend/user_links for a user):
// over the session's items j, x[j] * w(j -> i) for every item i that j links to in run $run (x = 1, or
// $dislike_value for an item the session only disliked); `sources` names each weight's j.
// Params: $id (the session's id in the answer), $history ([item id, sign] per interaction), $run, $dislike_value.
UNWIND $history AS h
WITH h[0] AS item, max(h[1]) AS best
MATCH (j:Item {id: item})
WITH j, CASE WHEN best < 0 THEN $dislike_value ELSE 1.0 END AS xv
MATCH (j)-[l:ITEM_LINK]->(i:Item)
WHERE l.run = $run
RETURN $id AS id, collect(i.id) AS items, collect(xv * l.weight) AS weights, collect(j.id) AS sources
