// A new version of run $run: items were folded into it, or its borrowed item links changed. Serving reloads a run
// whose version changed (kgrec_neo4j/serve/scoring.py). folded_items counts the run's items that have folded-in
// vectors now; the mark of links written since the last version is cleared (cypher/update/links_pending.cypher).
MATCH (r:ModelRun {id: $run})
CALL (r) {
  MATCH (i:Item) WHERE i.gnn_folded_run = r.id AND i.gnn_run = r.id
  RETURN count(i) AS folded
}
SET r.version = coalesce(r.version, 0) + 1, r.folded_items = folded, r.updated_at = datetime()
REMOVE r.links_pending
RETURN r.version AS version, folded
