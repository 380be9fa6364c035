// The stored digests of the borrowed item links of the items $ids (Item.borrow_digest, written with the links by
// update/borrowed_links), as one list of [id, digest] pairs; an item without one has null. An item whose digest
// equals the one of its current knowledge neighbours keeps its links (kgrec_neo4j/model/newitems.py).
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN collect([id, i.borrow_digest]) AS digests
