// Store the text vectors of items (kgrec_neo4j/model/itemtext.py, store_item_text): Item.text_vector, the unit-length
// embedding as float32 bytes (little-endian; null for an item without text, which removes it), with the key of the
// model and the hash of the text it was computed from.
// Params: $rows ([{id, hash, vector}]), $model.
UNWIND $rows AS row
MATCH (i:Item {id: row.id})
SET i.text_vector = row.vector, i.text_vector_model = $model, i.text_vector_hash = row.hash
RETURN count(i) AS written
