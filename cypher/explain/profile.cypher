// A user's interest profile: every INTERESTED_IN edge with its concept, strongest (weight x confidence) first,
// with the evidence items' titles (the id when an item has no title). Columns: the Interest model.
// Params: $user (User.id), $limit (int).
MATCH (u:User {id: $user})-[ii:INTERESTED_IN]->(c:Concept)
RETURN c.id AS concept_id, coalesce(c.name, c.id) AS name, c.type AS type,
       coalesce(ii.horizon, 'long') AS horizon, coalesce(ii.polarity, 1) AS polarity,
       coalesce(ii.weight, 1.0) AS weight, coalesce(ii.confidence, 1.0) AS confidence, ii.extractor AS extractor,
       ii.attention AS attention, coalesce(ii.evidence, []) AS evidence, ii.updated_seq AS updated_seq,
       COLLECT { UNWIND coalesce(ii.evidence, []) AS ev OPTIONAL MATCH (e:Item {id: ev})
                 RETURN coalesce(e.title, ev) } AS evidence_titles
ORDER BY coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0) DESC, name
LIMIT $limit
