// Items to fold into run $run: items without any vector (added after the run: `new`), and items folded into the
// run before (their knowledge or first interactions may have changed). Items the run trained are not.
MATCH (i:Item)
WHERE i.gnn_run IS NULL OR (i.gnn_run = $run AND i.gnn_folded_run = $run)
RETURN i.id AS id, i.gnn_run IS NULL AS new
ORDER BY id
