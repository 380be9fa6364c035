// The item links of run $run into each item of $ids (the items folded into the run), as one list of [id, [source
// ids], [weights], [from_new: the source is a folded-in item]] (kgrec_neo4j/model/newitems.py, step 2: the links
// between folded items are computed from the others' links in from trained items, and written where they changed).
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  OPTIONAL MATCH (j:Item)-[l:ITEM_LINK {run: $run}]->(i)
  WITH j, l ORDER BY j.id
  RETURN [x IN collect([j.id, l.weight, coalesce(l.from_new, false)]) WHERE x[0] IS NOT NULL] AS links
}
RETURN collect([id, [x IN links | x[0]], [x IN links | x[1]], [x IN links | x[2]]]) AS links
