// Before an item is recorded live (kgrec_neo4j/serve/record.py, then cypher/load/items.cypher): whether the
// dataset is stored, and the item's dataset and text fields when it is stored (a record changes only the text
// fields it has, as `kgrec load --append` does).
// Params: $id (Item.id), $dataset.
OPTIONAL MATCH (d:Dataset {name: $dataset})
OPTIONAL MATCH (i:Item {id: $id})
RETURN d IS NOT NULL AS dataset_found, i IS NOT NULL AS item_found, i.dataset AS item_dataset,
       i {.title, .description, .features, .categories, .brand} AS stored
