// Dimension of the item_gnn_embedding vector index (no row when it does not exist).
SHOW VECTOR INDEXES YIELD name, options
WHERE name = 'item_gnn_embedding'
RETURN options.indexConfig['vector.dimensions'] AS dim
