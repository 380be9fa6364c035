// Of the items $ids (their mentions just written), those whose knowledge follows from the concept stage: items with
// HAS_KNOWLEDGE edges (extracted again after it), or with a mention that has a concept already. Their knowledge is
// recomputed in the same transaction.
UNWIND $ids AS id
MATCH (i:Item {id: id})
WHERE EXISTS { (i)-[:HAS_KNOWLEDGE]->() } OR EXISTS { (i)-[:MENTIONS]->(:Mention)-[:CANONICAL]->() }
RETURN collect(i.id) AS ids
