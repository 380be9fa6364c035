// Of the items $ids, those with HAS_KNOWLEDGE edges (extracted again after the concept stage ran): their knowledge
// is recomputed from their new mentions in the same transaction.
UNWIND $ids AS id
MATCH (i:Item {id: id})
WHERE EXISTS { (i)-[:HAS_KNOWLEDGE]->() }
RETURN collect(i.id) AS ids
