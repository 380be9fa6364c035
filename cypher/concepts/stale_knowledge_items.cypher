// Items whose HAS_KNOWLEDGE edges are not what their mentions that have a concept give (concepts/item_knowledge):
// a mention with a concept the item has no edge to (an item extracted after its mentions had concepts: a new item
// whose points are all known, or one extracted again), or an edge no such mention supports any more.
// Parameters: $min_confidence (MENTIONS edges under it are not read, as in concepts/item_knowledge)
CALL () {
  MATCH (i:Item)-[r:MENTIONS]->(:Mention)-[:CANONICAL]->(c:Concept)
  WHERE coalesce(r.confidence, 1.0) >= $min_confidence AND NOT EXISTS { (i)-[:HAS_KNOWLEDGE]->(c) }
  RETURN i
  UNION
  MATCH (i:Item)-[:HAS_KNOWLEDGE]->(c:Concept)
  WHERE NOT EXISTS { MATCH (i)-[r:MENTIONS]->(:Mention)-[:CANONICAL]->(c) WHERE coalesce(r.confidence, 1.0) >= $min_confidence }
  RETURN i
}
RETURN i.id AS id ORDER BY id
