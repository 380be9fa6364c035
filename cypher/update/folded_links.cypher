// Item links of run $run between folded-in items (kgrec_neo4j/model/newitems.py, step 2): per row, every link into
// the target from a folded-in item (`from_new`) is replaced by the given ones (idempotent), each marked `borrowed`,
// `from_new` and carrying the target's `digest`.
// row: {target: item id, sources: [element ids of the folded-in source items], weights: [float], digest}.
// Params: $rows, $run.
UNWIND $rows AS row
MATCH (b:Item {id: row.target})
CALL (b) {
  MATCH ()-[old:ITEM_LINK {run: $run, from_new: true}]->(b)
  DELETE old
}
CALL (b, row) {
  UNWIND range(0, size(row.sources) - 1) AS k
  MATCH (a:Item) WHERE elementId(a) = row.sources[k]
  CREATE (a)-[:ITEM_LINK {run: $run, weight: row.weights[k], borrowed: true, neighbour: false, from_new: true,
                          digest: row.digest}]->(b)
  RETURN count(*) AS n
}
RETURN sum(n) AS written
