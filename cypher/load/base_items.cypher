// Ids of the items of dataset $dataset that a load without --append ended with (`base_load`, set by
// load/dataset.cypher): a reload that leaves out the files appended since asks only about the others.
MATCH (i:Item)
WHERE i.dataset = $dataset AND i.base_load
RETURN collect(i.id) AS ids
