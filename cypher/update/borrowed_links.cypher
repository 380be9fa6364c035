// Item links of run $run into folded-in items, borrowed from their nearest trained items (kgrec_neo4j/model/
// newitems.py): per row, every link of the run into the target is replaced by the given ones (idempotent), each
// marked `borrowed` and carrying `digest`, the digest of what they were computed from (on the links, not on the
// target: setting a property of the target item would lock it while the update's other writes link items).
// row: {target: item id, sources: [element ids of the source items], weights: [float], neighbours: [bool: the source
// is one of the target's neighbours, its own link is in the weight], digest}; a row with no sources only
// removes the target's links.
// Params: $rows, $run.
UNWIND $rows AS row
MATCH (b:Item {id: row.target})
CALL (b) {
  MATCH ()-[old:ITEM_LINK {run: $run}]->(b)
  DELETE old
}
WITH b, row
UNWIND range(0, size(row.sources) - 1) AS k
MATCH (a:Item) WHERE elementId(a) = row.sources[k]
CREATE (a)-[:ITEM_LINK {run: $run, weight: row.weights[k], borrowed: true, neighbour: row.neighbours[k],
                        digest: row.digest}]->(b)
RETURN count(*) AS written
