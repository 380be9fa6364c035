// Items to fold into run $run: items without any vector (added after the run: `new`, as is an item whose first
// fold-in was cut before the run's version was bumped: `gnn_fold_first` above it, cypher/update/item_vectors.cypher),
// and items folded into the run before (their knowledge or first interactions may have changed). Items the run trained are not.
// `scale`: the length factor an item folded in before keeps (kgrec_neo4j/model/newitems.py), the one written with
// its vector by a fold-in that completed (its `gnn_fold_version` is at most the run's version), or by a cut fold-in
// that folded it in again (its first fold-in completed: `gnn_fold_first` at most the run's version; the cut one
// wrote the factor it kept); null for a new item, and for one whose first fold-in was cut before the run's version
// was bumped (a resumed update computes its factor again with the same items). `version`: the version this fold-in will give the run.
// `touched`: whether the item is to be folded in (again): every item when $since is null; else a new item, an item
// of $items (extracted again), one whose fold-in was cut (a version above the run's; an item folded in from nothing
// has none: nothing to compute again until it gets knowledge or a user), and one a user stamped with an ingest number in
// ($since, $upto] interacted with (the users whose interactions or interests an update changed: the only inputs of
// an item's fold-in besides its knowledge).
// Params: $run, $since (null or an ingest number), $upto, $items (list of Item.id).
MATCH (r:ModelRun {id: $run})
WITH coalesce(r.version, 0) AS current
MATCH (i:Item)
WHERE i.gnn_run IS NULL OR (i.gnn_run = $run AND i.gnn_folded_run = $run)
RETURN i.id AS id, i.gnn_run IS NULL OR coalesce(i.gnn_fold_first, 0) > current AS new,
       CASE WHEN i.gnn_folded_run = $run AND (i.gnn_fold_version <= current OR coalesce(i.gnn_fold_first, 0) <= current)
            THEN i.gnn_fold_scale END AS scale,
       current + 1 AS version,
       $since IS NULL OR i.gnn_run IS NULL OR coalesce(i.gnn_fold_first, 0) > current OR i.id IN $items
         OR i.gnn_fold_version > current
         OR EXISTS { MATCH (i)<-[:INTERACTED]-(u:User) WHERE u.ingest > $since AND u.ingest <= $upto } AS touched
ORDER BY id
