DROP INDEX item_gnn_embedding IF EXISTS
