// The digests stored with the borrowed item links of run $run into the items $ids (ITEM_LINK.digest, written with
// the links by update/borrowed_links: the same on every link into an item from a trained item; a link from another
// folded-in item, `from_new`, may carry that item's), as one list of [id, digest] pairs; an item without such a link
// has null. An item whose digest equals the one of its current neighbours keeps
// its links (kgrec_neo4j/model/newitems.py).
// Params: $ids (list of Item.id), $run.
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  OPTIONAL MATCH ()-[l:ITEM_LINK {run: $run}]->(i)
  WHERE l.from_new IS NULL OR NOT l.from_new
  RETURN l.digest AS digest
  LIMIT 1
}
RETURN collect([id, digest]) AS digests
