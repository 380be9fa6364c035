// Items whose stored text vector is missing or stale: none yet, their text changed since (the hash stored by every
// load, Item.current_text_hash), or another text model embedded it. Read by kgrec_neo4j/model/itemtext.py
// (store_item_text) before it embeds them.
// Params: $model (the text model's key), $ids (a list of Item.id, or null for every item).
MATCH (i:Item)
WHERE ($ids IS NULL OR i.id IN $ids)
  AND (i.text_vector_model IS NULL OR i.text_vector_model <> $model
       OR coalesce(i.text_vector_hash, '') <> coalesce(i.current_text_hash, ''))
RETURN i.id AS id, i.current_text_hash AS hash
ORDER BY id
