// Ids of the items stored for dataset $dataset.
MATCH (i:Item)
WHERE i.dataset = $dataset
RETURN collect(i.id) AS ids
