// Concepts that nothing uses: no mention is CANONICAL to them, no item holds them (HAS_KNOWLEDGE), no user is
// INTERESTED_IN them, and nothing else points at them but family relations (BROADER, which go with them). They are
// left by re-extraction (an item's values changed with the extractor) and by reloads that remove items: the
// vocabulary never shrinks by itself (growth causes no churn), and the concept vector index would still place new
// mentions on them (`kgrec concepts prune`, kgrec_neo4j/concepts/prune.py).
// Params: $types (list of type names, or null for every type).
MATCH (c:Concept)
WHERE ($types IS NULL OR c.type IN $types)
  AND NOT EXISTS { MATCH (c)<-[r]-() WHERE type(r) <> 'BROADER' }
RETURN c.id AS id, c.type AS type, c.name AS name, coalesce(c.aliases, []) AS aliases,
       COUNT { (c)-[:BROADER]-() } AS family
ORDER BY type, name, id
