// Item links of run $run (the closed-form stage-1 item graph), one batch of source items; a rerun of the same
// batch replaces that batch's links (idempotent).
// row: {source: item id, targets: [item ids], weights: [float]}: score(u, target) += x[u, source] * weight.
UNWIND $rows AS row
MATCH (a:Item {id: row.source})
CALL (a) {
  MATCH (a)-[old:ITEM_LINK {run: $run}]->()
  DELETE old
}
WITH a, row
UNWIND range(0, size(row.targets) - 1) AS k
MATCH (b:Item {id: row.targets[k]})
CREATE (a)-[:ITEM_LINK {run: $run, weight: row.weights[k]}]->(b)
RETURN count(*) AS written
