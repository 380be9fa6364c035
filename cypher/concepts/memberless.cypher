// Concepts that nothing uses but other concepts' family relations: no mention is CANONICAL to them, no item holds
// them (HAS_KNOWLEDGE), no user is INTERESTED_IN them, nothing else points at them but BROADER. Such a concept is
// unused when every narrower concept pointing at it (`children`) is unused too: the caller decides that
// (kgrec_neo4j/concepts/prune.py), so a parent that still joins used concepts into a family stays. They are left by
// re-extraction (an item's values changed with the extractor) and by reloads that remove items: the vocabulary
// never shrinks by itself (growth causes no churn), and the concept vector index would still place new mentions on
// them (`kgrec concepts prune`).
// Params: $types (list of type names, or null for every type), $ids (list of concept ids, or null for all).
MATCH (c:Concept)
WHERE ($types IS NULL OR c.type IN $types) AND ($ids IS NULL OR c.id IN $ids)
  AND NOT EXISTS { MATCH (c)<-[r]-() WHERE type(r) <> 'BROADER' }
RETURN c.id AS id, c.type AS type, c.name AS name, coalesce(c.aliases, []) AS aliases,
       COUNT { (c)-[:BROADER]-() } AS family,
       COLLECT { MATCH (c)<-[:BROADER]-(n:Concept) RETURN n.id } AS children
ORDER BY type, name, id
