// The ids of the items with the element ids $eids, as one list of [element id, id] pairs (borrowed item links: the sources
// are read by element id, and their ids once each, for the order of ties and to leave out the item itself).
UNWIND $eids AS eid
MATCH (i:Item) WHERE elementId(i) = eid
RETURN collect([eid, i.id]) AS ids
