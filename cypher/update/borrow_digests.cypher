// The digests stored with the borrowed item links of run $run of the items $ids (ITEM_LINK.digest, written with the
// links by update/borrowed_links: the same on every link into an item from a trained item and on every link out of
// it to a trained item; a link between two folded-in items carries its target's digest of when it was last written,
// and is not read here), as one list of [id, digest] pairs;
// an item without such a link has null. An item whose digest equals the one of its current neighbours keeps its
// links (kgrec_neo4j/model/newitems.py).
// Params: $ids (list of Item.id), $run, $folded (the ids of every item folded into the run).
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  OPTIONAL MATCH ()-[l:ITEM_LINK {run: $run}]->(i)
  WHERE l.from_new IS NULL OR NOT l.from_new
  RETURN l.digest AS digest
  LIMIT 1
}
CALL (i) {
  OPTIONAL MATCH (i)-[l:ITEM_LINK {run: $run, borrowed: true}]->(t:Item)
  WHERE NOT t.id IN $folded
  RETURN l.digest AS out_digest
  LIMIT 1
}
RETURN collect([id, coalesce(digest, out_digest)]) AS digests
