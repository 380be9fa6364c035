// New concepts of one type with their member mentions. Existing concepts and existing CANONICAL edges
// are never modified: a concept is only created (ON CREATE), a member edge only for a mention that has
// none yet.
UNWIND $rows AS row
MATCH (k:KnowledgeType {name: row.type})
MERGE (c:Concept {id: row.id})
  ON CREATE SET c.type = row.type, c.name = row.name, c.key = row.key,
                c.aliases = [], c.origin = row.origin, c.floor = row.floor, c.created_at = datetime(),
                c.size_at_creation = size(row.members)
MERGE (c)-[:OF_TYPE]->(k)
WITH c, row
CALL (c, row) {
  // a new concept's text embedding, stored as a float32 vector property (what the vector index reads)
  WITH c, row WHERE c.embedding IS NULL
  CALL db.create.setNodeVectorProperty(c, 'embedding', row.embedding)
}
WITH c, row
UNWIND row.members AS mem
MATCH (m:Mention {type: row.type, key: mem.key})
WHERE NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
CREATE (m)-[:CANONICAL {similarity: mem.similarity, method: row.origin}]->(c)
REMOVE m.pending
RETURN count(*) AS members
