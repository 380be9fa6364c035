// Items of one batch. Text fields are replaced by the loaded values, with the hash of that text
// (current_text_hash: kgrec_neo4j/core/texthash.py, read by `kgrec update`); derived data is untouched.
// $rows: [{id, title, description, features, categories, brand, text_hash}], $dataset.
UNWIND $rows AS row
MERGE (i:Item {id: row.id})
SET i.dataset = $dataset,
    i.title = row.title,
    i.description = row.description,
    i.features = row.features,
    i.categories = row.categories,
    i.brand = row.brand,
    i.current_text_hash = row.text_hash
