// Which of the items a list ranked are in the graph now, and their titles as stored now: a running service scores
// with the run it loaded, and an item deleted or renamed by hand since (Neo4j Browser) stayed in its lists, under
// its old title too, until the run's next version (kgrec_neo4j/serve/recommend.py, _live).
// Params: $ids (list of Item.id). Returns the ids found, each with its title.
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN i.id AS id, i.title AS title
