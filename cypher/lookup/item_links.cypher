// The strongest item links of one item in the current run's item graph, both ways, at most $limit each way:
// `out`, the items whose score it raises for a user who has it ((:Item {id: $item})-[:ITEM_LINK]->(other)), and
// `in`, the items that raise its score for a user who has them ((other)-[:ITEM_LINK]->(:Item {id: $item})); an item
// folded in by `kgrec update` has links both ways `borrowed` from its nearest trained items (`neighbour`: the
// other end is one of those items, its own link is in the weight). Out first, each way strongest first.
// Parameters: $item, $limit
MATCH (r:ModelRun {current: true})
MATCH (i:Item {id: $item})
CALL (r, i) {
  MATCH (i)-[l:ITEM_LINK]->(o:Item)
  WHERE l.run = r.id
  WITH o, l ORDER BY l.weight DESC, o.id LIMIT $limit
  RETURN 'out' AS direction, o, l
  UNION ALL
  MATCH (o:Item)-[l:ITEM_LINK]->(i)
  WHERE l.run = r.id
  WITH o, l ORDER BY l.weight DESC, o.id LIMIT $limit
  RETURN 'in' AS direction, o, l
}
RETURN direction, o.id AS item, o.title AS title, l.weight AS weight, coalesce(l.borrowed, false) AS borrowed,
       coalesce(l.neighbour, false) AS neighbour, r.id AS run
ORDER BY direction DESC, weight DESC, item
