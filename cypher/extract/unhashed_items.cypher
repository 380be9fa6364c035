// Items without a stored hash of their text (current_text_hash): written by another client than `kgrec load`, or
// loaded before the hash was stored. Returns their text fields, as extract/read_items does. No parameters.
MATCH (i:Item)
WHERE i.current_text_hash IS NULL
RETURN i.id AS item_id, i.title AS title, i.description AS description, i.features AS features,
       i.categories AS categories, i.brand AS brand
ORDER BY i.id
