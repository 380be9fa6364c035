// Remove the concepts of $ids, with their family relations. The caller has found them unused
// (cypher/concepts/memberless.cypher) in this transaction, under a lock on them (cypher/concepts/lock.cypher). Their ids and aliases are kept on their
// (:KnowledgeType) as `retired_concepts`, so a concept grown later never takes one of them
// (cypher/concepts/taken_ids.cypher): an id names one meaning for the life of the graph.
// Params: $ids (concept ids). Returns the ids removed.
UNWIND $ids AS id
MATCH (c:Concept {id: id})
WITH c.type AS type, collect(c) AS cs
MATCH (t:KnowledgeType {name: type})
WITH t, cs, reduce(a = [], c IN cs | a + [c.id] + coalesce(c.aliases, [])) AS gone
SET t.retired_concepts = coalesce(t.retired_concepts, [])
                         + [x IN gone WHERE NOT x IN coalesce(t.retired_concepts, [])]
WITH cs
UNWIND cs AS c
WITH c, c.id AS id
DETACH DELETE c
RETURN collect(id) AS removed
