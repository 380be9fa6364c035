// Items that are the same work (another edition, platform or packaging of one game):
// (a)-[:SAME_WORK {kind, key, method}]->(b), one edge per pair with a.id < b.id; read it undirected.
// kind: 'port' (no platform in common), 'edition' (a platform in common), 'same' (a side names no platform).
// Parameters: $pairs ([{a: item id, b: item id, kind, key: the shared work key}]).
UNWIND $pairs AS p
MATCH (a:Item {id: p.a}), (b:Item {id: p.b})
MERGE (a)-[r:SAME_WORK]->(b)
SET r.kind = p.kind, r.key = p.key, r.method = 'title'
RETURN count(r) AS edges
