// Database-side type check, installed by `kgrec schema apply` as the APOC trigger `kgrec_types`
// (phase `before`: it runs inside every write transaction of the database, whatever the client, and a
// failed check rolls the whole transaction back).
// Refused: a Mention or Concept whose `type` (created, changed or removed) is not the name of a
// (:KnowledgeType) of the active pack; a HAS_KNOWLEDGE or INTERESTED_IN created to anything but such a
// Concept; a (:KnowledgeType) created or renamed by anything but `kgrec schema apply` (whose transactions carry
// the metadata {kgrec: 'schema apply'}), or deleted while a Mention or Concept still has its name as `type`.
// The error names the bad types and the allowed ones.
// Parameters (set by APOC for the transaction): $assignedLabels, $assignedNodeProperties,
// $removedNodeProperties, $removedLabels, $createdRelationships, $metaData. A deleted node's removed `type` is not
// a change to check.
WITH [n IN coalesce($assignedLabels.Mention, []) + coalesce($assignedLabels.Concept, [])
           + [p IN coalesce($assignedNodeProperties.type, []) | p.node]
           + [p IN coalesce($removedNodeProperties.type, []) WHERE NOT apoc.any.isDeleted(p.node) | p.node]
       WHERE n:Mention OR n:Concept] AS nodes,
     [r IN $createdRelationships WHERE type(r) IN ['HAS_KNOWLEDGE', 'INTERESTED_IN']] AS rels,
     CASE WHEN coalesce($metaData.kgrec, '') = 'schema apply' THEN []
          ELSE [k IN coalesce($assignedLabels.KnowledgeType, [])
                     + [p IN coalesce($assignedNodeProperties.name, []) WHERE NOT apoc.any.isDeleted(p.node)
                          AND p.node:KnowledgeType | p.node]
                WHERE NOT apoc.any.isDeleted(k) | k.name] END AS written_types,
     // types taken away: a KnowledgeType deleted, its label removed, or its name removed
     [p IN coalesce($removedNodeProperties.name, [])
        WHERE p.node IN coalesce($removedLabels.KnowledgeType, [])
           OR (NOT apoc.any.isDeleted(p.node) AND p.node:KnowledgeType) | p.old]
     + [k IN coalesce($removedLabels.KnowledgeType, []) WHERE NOT apoc.any.isDeleted(k) AND k.name IS NOT NULL
        | k.name] AS deleted_types
WHERE size(nodes) > 0 OR size(rels) > 0 OR size(written_types) > 0 OR size(deleted_types) > 0
WITH nodes, rels, written_types, deleted_types,
     [t IN COLLECT { MATCH (k:KnowledgeType) WHERE k.name IS NOT NULL RETURN k.name ORDER BY k.name }
        WHERE NOT t IN [w IN written_types WHERE w IS NOT NULL]] AS allowed
WITH allowed, written_types, nodes, rels,
     // a type still in use cannot be taken away: the refusal keeps it, so the message lists it among the allowed ones
     [t IN deleted_types WHERE NOT t IN allowed
        AND (EXISTS { MATCH (m:Mention) WHERE m.type = t } OR EXISTS { MATCH (c:Concept) WHERE c.type = t })] AS kept
WITH apoc.coll.sort(allowed + kept) AS listed, allowed,
     [t IN written_types | 'a KnowledgeType ' + coalesce('\'' + toString(t) + '\'', 'without a name')
                            + ' written outside `kgrec schema apply`']
     + [t IN kept
        | 'the KnowledgeType \'' + toString(t) + '\' deleted (or its label or name removed) while mentions or concepts have that type']
     + [n IN nodes WHERE n.type IS NULL OR NOT n.type IN allowed
        | CASE WHEN n:Mention THEN 'Mention' ELSE 'Concept' END + ' of type ' + coalesce('\'' + toString(n.type) + '\'', 'null')]
     + [r IN rels WHERE NOT endNode(r):Concept OR endNode(r).type IS NULL OR NOT endNode(r).type IN allowed
        | type(r) + ' to a ' + CASE WHEN endNode(r):Concept THEN 'Concept of type '
                                    + coalesce('\'' + toString(endNode(r).type) + '\'', 'null')
                                    ELSE 'node that is not a Concept' END] AS bad
CALL apoc.util.validate(size(bad) > 0,
  'kgrec: refused by the database (trigger kgrec_types): %s. A knowledge type must be one of the active pack: %s (the (:KnowledgeType) nodes; `kgrec schema apply` sets them from the pack)',
  [apoc.text.join(apoc.coll.toSet(bad)[0..5], '; '), CASE WHEN size(listed) = 0 THEN 'none yet' ELSE apoc.text.join(listed, ', ') END])
RETURN size(bad) AS refused
