// Before an item is recorded live (kgrec_neo4j/serve/record.py, then cypher/load/items.cypher): whether the
// dataset is stored, and the item's dataset and text fields when it is stored (a record changes only the text
// fields it has, as `kgrec load --append` does). The item's node is merged first, so that its id's lock is held to
// the end of the transaction: a second record of the same new item at once waits for this one and then finds it
// (both found no item, both were new, and the later wrote its text over the earlier's). A refused record rolls the
// transaction back, the merged node with it.
// Params: $id (Item.id), $dataset.
MERGE (i:Item {id: $id})
  ON CREATE SET i.record_created = true
WITH i, i.record_created IS NULL AS item_found
REMOVE i.record_created
WITH i, item_found
OPTIONAL MATCH (d:Dataset {name: $dataset})
RETURN d IS NOT NULL AS dataset_found, item_found, i.dataset AS item_dataset,
       CASE WHEN item_found THEN i {.title, .description, .features, .categories, .brand} END AS stored
