// Mark run $run as having borrowed item links written that serving has not been told of yet (set before a fold-in's
// first link write; see cypher/update/links_pending.cypher).
// Params: $run.
MATCH (r:ModelRun {id: $run})
SET r.links_pending = true
