// Every item's id and stored text hash in one dataset, as one record (the catalogue an extractor counts phrase
// support over when it extracts some items only: kgrec_neo4j/extract/offline.py, prepare_catalogue). An item
// without a stored hash has null (its text is then read).
// $dataset: the dataset's name, or null for the items without one (written by another client).
MATCH (i:Item)
WHERE i.dataset = $dataset OR ($dataset IS NULL AND i.dataset IS NULL)
WITH i ORDER BY i.id
RETURN collect([i.id, i.current_text_hash]) AS rows
