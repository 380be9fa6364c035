// A session's items (a visitor who is no user of the graph, `recommend_session`): which of them are stored, their
// datasets, and the editions and ports of them (SAME_WORK) with the titles of the session's items they are another
// edition of.
// Params: $items (list of Item.id).
RETURN COLLECT { MATCH (i:Item) WHERE i.id IN $items RETURN i.id } AS found,
       COLLECT { MATCH (i:Item) WHERE i.id IN $items AND i.dataset IS NOT NULL RETURN DISTINCT i.dataset } AS datasets,
       COLLECT { MATCH (o:Item)-[:SAME_WORK]-(i:Item) WHERE o.id IN $items
                 WITH i, collect(DISTINCT coalesce(o.title, o.id)) AS owned
                 RETURN [i.id, owned] } AS same_work
