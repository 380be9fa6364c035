// A concept's neighbourhood: its type, mentions, the items that have it and the users interested in it.
// $concept is a concept's id (`kgrec items show` prints them) or its name (case-insensitive).
// :param concept => 'Legend of Spyro'
MATCH (c:Concept)
WHERE c.id = $concept OR toLower(c.name) = toLower($concept)
OPTIONAL MATCH pt = (c)-[:OF_TYPE]->(:KnowledgeType)
OPTIONAL MATCH pm = (:Mention)-[:CANONICAL]->(c)
OPTIONAL MATCH pi = (:Item)-[:HAS_KNOWLEDGE]->(c)
OPTIONAL MATCH pu = (:User)-[:INTERESTED_IN]->(c)
RETURN c, collect(DISTINCT pt) AS type, collect(DISTINCT pm)[0..20] AS mentions,
       collect(DISTINCT pi)[0..30] AS items, collect(DISTINCT pu)[0..30] AS users;
