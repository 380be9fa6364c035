// Items to extract, with the text an extractor reads, the hashes of earlier extractions and the item's dataset.
// $ids: a list of item ids, or null for every item.
MATCH (i:Item)
WHERE $ids IS NULL OR i.id IN $ids
RETURN i.id AS item_id, i.title AS title, i.description AS description, i.features AS features,
       i.categories AS categories, i.brand AS brand, coalesce(i.extract_hashes, []) AS hashes,
       i.dataset AS dataset
ORDER BY i.id
