// Items of one batch. Text fields are replaced by the loaded values, with the hash of that text
// (current_text_hash: kgrec_neo4j/core/texthash.py, read by `kgrec update`); derived data is untouched.
// An item already stored in $dataset with the same text hash is left as it is (a reload or an append of the same
// records writes nothing); returns how many were created or changed. $recorded: the service writes the record
// (POST /items): the item is marked `recorded` (in no file, so that a reload of files without it asks first, as for
// the interactions the service records); a load's row of a recorded item makes it the files' (the mark is removed,
// its text written even when it is the same).
// $rows: [{id, title, description, features, categories, brand, text_hash}], $dataset, $recorded.
UNWIND $rows AS row
MERGE (i:Item {id: row.id})
WITH i, row
WHERE i.current_text_hash IS NULL OR i.current_text_hash <> row.text_hash OR coalesce(i.dataset <> $dataset, true)
   OR (NOT $recorded AND i.recorded IS NOT NULL)
SET i.recorded = CASE WHEN $recorded THEN datetime() END,
    i.dataset = $dataset,
    i.title = row.title,
    i.description = row.description,
    i.features = row.features,
    i.categories = row.categories,
    i.brand = row.brand,
    i.current_text_hash = row.text_hash
RETURN count(i) AS written
