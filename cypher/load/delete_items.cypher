// Remove items of dataset $dataset that a reload no longer has, with every edge (knowledge, links,
// recommendations), and the mentions no other item mentions any more. Their interactions were removed (and their
// users stamped) before. The other links borrowed into an item that borrowed one from a removed item lose their
// `digest`, and so do the links out of an item that borrowed one to a removed item: the next update borrows its
// links again (kgrec_neo4j/model/newitems.py). A stored recommendation list
// that held a removed item closes the gap: the items ranked after it move up one.
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
