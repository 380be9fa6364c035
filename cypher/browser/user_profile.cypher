// A user's profile: interests (long / short term, positive / negative), train history, stored recommendations.
// Paste the :param line in Neo4j Browser first, then run the query (graph view shows the neighbourhood).
// :param user => 'A2OAG0NE83ODBD'
MATCH (u:User {id: $user})
OPTIONAL MATCH pi = (u)-[ii:INTERESTED_IN]->(c:Concept)
OPTIONAL MATCH px = (u)-[x:INTERACTED]->(j:Item)
OPTIONAL MATCH pr = (u)-[:RECOMMENDED]->(:Item)
RETURN u, collect(DISTINCT pi) AS interests, collect(DISTINCT px)[0..50] AS history, collect(DISTINCT pr) AS recommended;
