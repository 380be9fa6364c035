// Store the hash of items' current text (kgrec_neo4j/core/texthash.py), as `kgrec load` does for the items it
// writes, on items that still have none (a load that changed the text since it was read has stored its own).
// $rows: [{id, text_hash}].
UNWIND $rows AS row
MATCH (i:Item {id: row.id})
WHERE i.current_text_hash IS NULL
SET i.current_text_hash = row.text_hash
