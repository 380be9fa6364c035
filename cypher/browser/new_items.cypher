// New items: the items `kgrec update` folded into the current run since it was trained, each with its knowledge
// and the item links it borrowed from the items most like it: the links into it (`borrowed_links`, and the items
// that link to it most strongly) and out of it (`links_out`, and the items it leads to most strongly). They are
// recommended and explained at once; the next `kgrec train` learns them for real.
// Set the number of items to list first (the query needs it: Browser answers ParameterMissing without it).
// :param limit => 25
MATCH (r:ModelRun {current: true})
MATCH (i:Item)
// `gnn_folded_run` is written by `kgrec update` only: read through keys() and properties(), so that a graph no update
// has touched gives no rows and no UnknownPropertyKeyWarning (only a folded item's properties are read whole)
WHERE i.gnn_run = r.id AND 'gnn_folded_run' IN keys(i) AND properties(i).gnn_folded_run = r.id
CALL (i, r) {
  OPTIONAL MATCH (j:Item)-[l:ITEM_LINK {run: r.id}]->(i)
  WITH j, l ORDER BY abs(l.weight) DESC
  RETURN count(l) AS borrowed_links, [x IN collect(coalesce(j.title, j.id))[0..5] WHERE x IS NOT NULL] AS strongest_from
}
CALL (i, r) {
  OPTIONAL MATCH (i)-[l:ITEM_LINK {run: r.id}]->(o:Item)
  WITH o, l ORDER BY abs(l.weight) DESC
  RETURN count(l) AS links_out, [x IN collect(coalesce(o.title, o.id))[0..5] WHERE x IS NOT NULL] AS strongest_to
}
CALL (i) {
  OPTIONAL MATCH (i)-[:HAS_KNOWLEDGE]->(c:Concept)
  RETURN [x IN collect(c.type + ': ' + coalesce(c.name, c.id)) WHERE x IS NOT NULL] AS knowledge
}
RETURN i.id AS item, i.title AS title, knowledge, borrowed_links, strongest_from, links_out, strongest_to
ORDER BY borrowed_links DESC, item
LIMIT toInteger($limit);
