// Per knowledge type: mentions (Mention nodes) and item mentions (MENTIONS edges), and how many of each have
// a concept (CANONICAL). The "every mention canonical" numbers of `kgrec concepts report`.
// Parameters: none.
MATCH (m:Mention)
WITH m.type AS type, m, EXISTS { (m)-[:CANONICAL]->(:Concept) } AS canonical, COUNT { (:Item)-[:MENTIONS]->(m) } AS edges
RETURN type, count(m) AS mentions, sum(CASE WHEN canonical THEN 1 ELSE 0 END) AS canonical,
       sum(edges) AS item_mentions, sum(CASE WHEN canonical THEN edges ELSE 0 END) AS canonical_item_mentions
ORDER BY type
