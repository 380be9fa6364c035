// Interest texts whose normalised key is already a mention with a concept: that concept, with the
// mention's CANONICAL similarity (the vector index is asked only for the others).
UNWIND $rows AS row
MATCH (:Mention {type: row.type, key: row.key})-[cn:CANONICAL]->(c:Concept)
RETURN row.type AS type, row.key AS key, c.id AS concept, cn.similarity AS similarity
