// Items with a mention of one of $types that has a concept the item has no HAS_KNOWLEDGE edge to: what a
// `kgrec concepts build` stopped between a type's concepts and its items' knowledge (one transaction each) leaves,
// found by its rerun (kgrec_neo4j/concepts/build.py). MENTIONS edges under $min_confidence are not read, as in
// concepts/item_knowledge; only missing edges are looked for (an edge no mention supports is not this query's).
MATCH (i:Item)-[r:MENTIONS]->(m:Mention)-[:CANONICAL]->(c:Concept)
WHERE m.type IN $types AND coalesce(r.confidence, 1.0) >= $min_confidence AND NOT EXISTS { (i)-[:HAS_KNOWLEDGE]->(c) }
RETURN DISTINCT i.id AS id ORDER BY id
