// Items of one batch. Text fields are replaced by the loaded values; derived data is untouched.
UNWIND $rows AS row
MERGE (i:Item {id: row.id})
SET i.dataset = $dataset,
    i.title = row.title,
    i.description = row.description,
    i.features = row.features,
    i.categories = row.categories,
    i.brand = row.brand
