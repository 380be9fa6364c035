// Write locks on the concepts of $ids for the rest of the transaction: an edge created to one of them by another
// transaction waits until this one ends (`kgrec concepts prune` reads them again under the lock before it removes
// them). Params: $ids.
MATCH (c:Concept) WHERE c.id IN $ids
WITH collect(c) AS cs
CALL apoc.lock.nodes(cs)
RETURN size(cs) AS locked
