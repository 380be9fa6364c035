// Remove items of dataset $dataset that a reload no longer has, with every edge (knowledge, links,
// recommendations), and the mentions no other item mentions any more. Their interactions were removed (and their
// users stamped) before. Borrowed links lose their `digest`, so that the next update borrows them again
// (kgrec_neo4j/model/newitems.py): every borrowed link of a run whose trained links a removed item had (the links
// new items borrow from changed), and the links of an item that borrowed one from or to a removed item. A stored recommendation list
// that held a removed item closes the gap: the items ranked after it move up one.
CALL () {
  // a trained item removed: the trained links new items borrowed from may have been its (and the top_k cut of those
  // that stay changes with them): every new item of the run borrows again
  MATCH (t:Item)-[k:ITEM_LINK]-()
  WHERE t.id IN $ids AND t.dataset = $dataset AND k.borrowed IS NULL
  WITH DISTINCT k.run AS run
  MATCH ()-[l:ITEM_LINK {run: run, borrowed: true}]->()
  WHERE l.digest IS NOT NULL
  REMOVE l.digest
}
UNWIND $ids AS id
MATCH (i:Item {id: id})
WHERE i.dataset = $dataset
CALL (i) {
  MATCH (i)-[:ITEM_LINK {borrowed: true}]->(:Item)<-[l:ITEM_LINK {borrowed: true}]-()
  REMOVE l.digest
}
CALL (i) {
  MATCH (n:Item)-[:ITEM_LINK {borrowed: true, from_new: true}]->(i)
  WITH DISTINCT n
  MATCH (n)-[l:ITEM_LINK {borrowed: true}]-(:Item)
  REMOVE l.digest
}
CALL (i) {
  MATCH (u:User)-[gone:RECOMMENDED]->(i)
  MATCH (u)-[r:RECOMMENDED]->(:Item)
  WHERE r.rank > gone.rank
  SET r.rank = r.rank - 1
}
OPTIONAL MATCH (i)-[:MENTIONS]->(m:Mention)
WITH i, collect(m) AS ms
DETACH DELETE i
WITH ms
UNWIND ms AS m
WITH DISTINCT m
WHERE NOT (m)<-[:MENTIONS]-()
DETACH DELETE m
RETURN count(*) AS mentions
