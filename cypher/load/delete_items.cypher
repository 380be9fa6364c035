// Remove items of dataset $dataset that a reload no longer has, with every edge (knowledge, links,
// recommendations), and the mentions no other item mentions any more. Their interactions were removed (and their
// users stamped) before. An item that borrowed links from a removed one loses its `borrow_digest`: the next update
// borrows its links again (kgrec_neo4j/model/newitems.py).
UNWIND $ids AS id
MATCH (i:Item {id: id})
WHERE i.dataset = $dataset
OPTIONAL MATCH (i)-[:ITEM_LINK {borrowed: true}]->(t:Item)
REMOVE t.borrow_digest
WITH DISTINCT i
OPTIONAL MATCH (i)-[:MENTIONS]->(m:Mention)
WITH i, collect(m) AS ms
DETACH DELETE i
WITH ms
UNWIND ms AS m
WITH DISTINCT m
WHERE NOT (m)<-[:MENTIONS]-()
DETACH DELETE m
RETURN count(*) AS mentions
