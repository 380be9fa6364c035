// One row per (item, mention): MERGE the mention by (type, key) (text = first surface form), then the edge.
UNWIND $rows AS row
MATCH (i:Item {id: row.item_id})
MERGE (m:Mention {type: row.type, key: row.key})
  ON CREATE SET m.text = row.text
MERGE (i)-[r:MENTIONS {extractor: $extractor}]->(m)
SET r.confidence = row.confidence, r.run = $run
