// The nodes of one label in the projected graph $graph_name with their original id (`n.id`), as two aligned
// lists. `kgrec_node` is the marker property every projected node carries (see project.cypher).
CALL gds.graph.nodeProperty.stream($graph_name, 'kgrec_node', [$label])
YIELD nodeId
RETURN collect(nodeId) AS node_ids, collect(gds.util.asNode(nodeId).id) AS ids
