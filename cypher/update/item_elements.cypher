// The element ids of the items $ids, as one list of [id, element id] pairs (the items folded into a run: the
// sources of the links borrowed between them, kgrec_neo4j/model/newitems.py).
// Params: $ids (list of Item.id).
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN collect([id, elementId(i)]) AS ids
