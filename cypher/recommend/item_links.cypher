// The item links of run $run (the stage-1 item graph), loaded once per process: one row per source item with
// its targets and weights. score(u, i) += item_link_weight * sum over u's items j of x[u, j] * w(j -> i).
MATCH (a:Item)-[l:ITEM_LINK {run: $run}]->(b:Item)
RETURN a.id AS source, collect(b.id) AS targets, collect(l.weight) AS weights
