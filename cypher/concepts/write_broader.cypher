// Family relations between concepts of one type, never merges: (narrower)-[:BROADER]->(broader), e.g.
// "Xbox One" -> "Xbox", "PlayStation 4 Pro" -> "PlayStation 4". Existing edges are kept as they are.
// Parameters: $pairs ([{narrow: concept id, broad: concept id, dropped: [variant tokens the narrower one adds]}]).
UNWIND $pairs AS p
MATCH (a:Concept {id: p.narrow}), (b:Concept {id: p.broad})
WHERE a <> b AND a.type = b.type
MERGE (a)-[r:BROADER]->(b)
  ON CREATE SET r.method = 'variant', r.dropped = p.dropped, r.created_at = datetime()
RETURN count(r) AS edges
