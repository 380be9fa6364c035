// Items of one batch. Text fields are replaced by the loaded values, with the hash of that text
// (current_text_hash: kgrec_neo4j/core/texthash.py, read by `kgrec update`); derived data is untouched.
// An item already stored in $dataset with the same text hash is left as it is (a reload or an append of the same
// records writes nothing); returns how many were created or changed.
// $rows: [{id, title, description, features, categories, brand, text_hash}], $dataset.
UNWIND $rows AS row
MERGE (i:Item {id: row.id})
WITH i, row
WHERE i.current_text_hash IS NULL OR i.current_text_hash <> row.text_hash OR coalesce(i.dataset <> $dataset, true)
SET i.dataset = $dataset,
    i.title = row.title,
    i.description = row.description,
    i.features = row.features,
    i.categories = row.categories,
    i.brand = row.brand,
    i.current_text_hash = row.text_hash
RETURN count(i) AS written
