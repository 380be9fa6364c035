// Member mention keys of the given concepts.
UNWIND $ids AS id
MATCH (m:Mention)-[:CANONICAL]->(c:Concept {id: id})
RETURN id, collect(m.key) AS keys
