// Item links of run $run of folded-in items to and from trained items, borrowed from their nearest trained items
// (kgrec_neo4j/model/newitems.py, step 1): per row, every link of the run into the target from an item that is not
// folded in (`from_new` not true) is replaced by the given ones, and every link out of it to an item that is not
// folded in ($folded) by the given `out_` ones (idempotent); the links between folded items are step 2's
// (cypher/update/folded_links.cypher). Each link is marked `borrowed` and carries `digest`, the digest of what the
// item's links were computed from (on the links, not on the item: setting a property of the item would lock it while
// the update's other writes link items), and `from_new`: whether its source is a folded-in item.
// row: {target: item id, sources: [element ids of the source items], weights: [float], neighbours: [bool: the source
// is one of the target's neighbours, its own link is in the weight], out_targets: [element ids], out_weights:
// [float], out_neighbours: [bool: the target is one of the item's neighbours], digest}; a row with no sources and no
// targets only removes the item's links. Returns the links written and the links removed (serving reloads the run
// when either is not 0).
// Params: $rows, $run, $folded (the ids of every item folded into the run).
UNWIND $rows AS row
MATCH (b:Item {id: row.target})
CALL (b) {
  OPTIONAL MATCH ()-[old:ITEM_LINK {run: $run}]->(b)
  WHERE old.from_new IS NULL OR NOT old.from_new
  DELETE old
  RETURN count(old) AS gone_in
}
CALL (b) {
  OPTIONAL MATCH (b)-[old:ITEM_LINK {run: $run}]->(t:Item)
  WHERE NOT t.id IN $folded
  DELETE old
  RETURN count(old) AS gone_out
}
CALL (b, row) {
  UNWIND range(0, size(row.sources) - 1) AS k
  MATCH (a:Item) WHERE elementId(a) = row.sources[k]
  CREATE (a)-[:ITEM_LINK {run: $run, weight: row.weights[k], borrowed: true, neighbour: row.neighbours[k],
                          from_new: false, digest: row.digest}]->(b)
  RETURN count(*) AS n_in
}
CALL (b, row) {
  UNWIND range(0, size(row.out_targets) - 1) AS k
  MATCH (t:Item) WHERE elementId(t) = row.out_targets[k]
  CREATE (b)-[:ITEM_LINK {run: $run, weight: row.out_weights[k], borrowed: true, neighbour: row.out_neighbours[k],
                          from_new: true, digest: row.digest}]->(t)
  RETURN count(*) AS n_out
}
RETURN sum(n_in + n_out) AS written, sum(gone_in + gone_out) AS removed
