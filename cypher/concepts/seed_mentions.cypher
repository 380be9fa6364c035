// Test/bench helper: typed mentions of items, as the extractor stage writes them. The caller checks the
// types in the same transaction (schema.refuse_unknown_types) before running this.
UNWIND $rows AS row
MERGE (i:Item {id: row.item})
MERGE (m:Mention {type: row.type, key: row.key})
  ON CREATE SET m.text = row.text
MERGE (i)-[r:MENTIONS {extractor: $extractor}]->(m)
SET r.confidence = row.confidence, r.run = $run
