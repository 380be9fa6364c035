// A user's profile: interests (long / short term, positive / negative), the latest 50 interactions (every split, by
// seq; an edge without seq, as typed in Browser, counts as the latest), stored recommendations.
// Paste the :param line in Neo4j Browser first, then run the query (graph view shows the neighbourhood).
// :param user => 'A2OAG0NE83ODBD'
MATCH (u:User {id: $user})
RETURN u, COLLECT { MATCH pi = (u)-[:INTERESTED_IN]->(:Concept) RETURN pi } AS interests,
       COLLECT { MATCH px = (u)-[x:INTERACTED]->(:Item) RETURN px ORDER BY x.seq DESC LIMIT 50 } AS history,
       COLLECT { MATCH pr = (u)-[:RECOMMENDED]->(:Item) RETURN pr } AS recommended;
