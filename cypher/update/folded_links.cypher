// Item links of run $run between folded-in items (kgrec_neo4j/model/newitems.py, step 2), changed where they changed:
// per row, the links into the target from the folded-in items of `gone` are removed, those from `keep` get their new
// weight, and links from `add` are created (marked `borrowed` and `from_new`); each link written carries the target's
// `digest`. Links from other folded-in items stay as they were: between two updates most of an item's links from
// other folded items keep their weight (the weight of a pair depends on the two items only), and a new item enters
// the top_k of a few items, so writing the difference instead of every link keeps an update's writes at what changed
// (the whole rows were rewritten until 2026-12-05: 124,000 links on the eighth update since training, 9.5 s).
// row: {target: item id, gone: [ids of source items], keep: [element ids], keep_weights: [float],
// add: [element ids], add_weights: [float], digest}.
// Returns the links written (created or given a new weight) and the links removed.
// Params: $rows, $run.
UNWIND $rows AS row
MATCH (b:Item {id: row.target})
CALL (b, row) {
  UNWIND range(0, size(row.gone) - 1) AS k
  MATCH (a:Item {id: row.gone[k]})-[old:ITEM_LINK {run: $run, from_new: true}]->(b)
  DELETE old
  RETURN count(*) AS removed
}
CALL (b, row) {
  UNWIND range(0, size(row.keep) - 1) AS k
  MATCH (a:Item) WHERE elementId(a) = row.keep[k]
  MATCH (a)-[l:ITEM_LINK {run: $run, from_new: true}]->(b)
  SET l.weight = row.keep_weights[k], l.digest = row.digest
  RETURN count(*) AS reweighted
}
CALL (b, row) {
  UNWIND range(0, size(row.add) - 1) AS k
  MATCH (a:Item) WHERE elementId(a) = row.add[k]
  CREATE (a)-[:ITEM_LINK {run: $run, weight: row.add_weights[k], borrowed: true, neighbour: false, from_new: true,
                          digest: row.digest}]->(b)
  RETURN count(*) AS created
}
RETURN sum(created + reweighted) AS written, sum(removed) AS removed
