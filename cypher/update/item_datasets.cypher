// The dataset of each item of $ids (null for an item without one): a new item borrows item links from trained
// items of its own dataset only (kgrec_neo4j/model/newitems.py, item_datasets).
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN id, i.dataset AS dataset
