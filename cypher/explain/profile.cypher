// A user's interest profile: every INTERESTED_IN edge with its concept, strongest first.
MATCH (u:User {id: $user})-[ii:INTERESTED_IN]->(c:Concept)
RETURN c.id AS concept, coalesce(c.name, c.id) AS name, c.type AS type,
       coalesce(ii.horizon, 'long') AS horizon, coalesce(ii.polarity, 1) AS polarity,
       coalesce(ii.weight, 1.0) AS weight, coalesce(ii.confidence, 1.0) AS confidence,
       ii.attention AS attention,
       COLLECT { MATCH (e:Item) WHERE e.id IN coalesce(ii.evidence, []) RETURN coalesce(e.title, e.id) } AS evidence
ORDER BY coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0) DESC, name
LIMIT $limit
