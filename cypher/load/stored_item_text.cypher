// The stored text fields of the items $ids (an append that names a stored item without some of its fields keeps the
// stored values of those: kgrec_neo4j/load/write.py).
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN i.id AS id, i.title AS title, i.description AS description, i.features AS features,
       i.categories AS categories, i.brand AS brand
