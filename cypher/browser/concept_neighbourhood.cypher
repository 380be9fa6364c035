// A concept's neighbourhood: its type, mentions, the items that have it and the users interested in it.
// :param concept => 'vg:playstation'
MATCH (c:Concept {id: $concept})
OPTIONAL MATCH pt = (c)-[:OF_TYPE]->(:KnowledgeType)
OPTIONAL MATCH pm = (:Mention)-[:CANONICAL]->(c)
OPTIONAL MATCH pi = (:Item)-[:HAS_KNOWLEDGE]->(c)
OPTIONAL MATCH pu = (:User)-[:INTERESTED_IN]->(c)
RETURN c, collect(DISTINCT pt) AS type, collect(DISTINCT pm)[0..20] AS mentions,
       collect(DISTINCT pi)[0..30] AS items, collect(DISTINCT pu)[0..30] AS users;
