// Which of the candidate ids are already used: as a concept id, as an alias of a merged concept, or as the id (or
// alias) of a concept removed by `kgrec concepts prune` (KnowledgeType.retired_concepts; SchemaInfo.retired_concepts
// once `kgrec schema apply` removed the type).
MATCH (c:Concept)
WHERE c.id IN $ids OR any(a IN coalesce(c.aliases, []) WHERE a IN $ids)
RETURN [x IN $ids WHERE x = c.id OR x IN coalesce(c.aliases, [])] AS taken
UNION ALL
MATCH (t:KnowledgeType)
WHERE any(x IN coalesce(t.retired_concepts, []) WHERE x IN $ids)
RETURN [x IN $ids WHERE x IN t.retired_concepts] AS taken
UNION ALL
MATCH (m:SchemaInfo)
WHERE any(x IN coalesce(m.retired_concepts, []) WHERE x IN $ids)
RETURN [x IN $ids WHERE x IN m.retired_concepts] AS taken
