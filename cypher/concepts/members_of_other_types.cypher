// The concepts of $ids that have mentions of another type than their own (a client changed the concept's type;
// kgrec never does): per concept and other type, how many, and one of their keys. kgrec_neo4j/concepts/merge.py
// refuses to merge such a concept.
UNWIND $ids AS id
MATCH (m:Mention)-[:CANONICAL]->(c:Concept {id: id})
WHERE m.type <> c.type
WITH c, m.type AS other, count(m) AS n, min(m.key) AS example
RETURN c.id AS id, c.type AS type, other, n, example
ORDER BY id, other
