// A concept's neighbourhood: its type, its family (BROADER edges both ways: `Xbox One` -> `Xbox`), mentions, the
// items that have it and the users interested in it.
// $concept is a concept's id (`kgrec items show` prints them), an id it absorbed (`kgrec concepts merge KEEP ABSORB`:
// ABSORB's id stays valid as an alias of KEEP), its name, or the text of one of its mentions (case-insensitive: a
// merged concept's name was one of its mentions, which now point at the concept that absorbed it; a text mentioned
// under several types finds each type's concept).
// Each list is read on its own, up to its limit (a concept of thousands of items and users costs what a small one
// does).
// :param concept => 'Legend of Spyro'
CALL () {
  MATCH (c:Concept)
  WHERE c.id = $concept OR $concept IN coalesce(c.aliases, []) OR toLower(c.name) = toLower($concept)
  RETURN c
  UNION
  MATCH (m:Mention)-[:CANONICAL]->(c:Concept)
  WHERE toLower(m.text) = toLower($concept)
  RETURN c
}
RETURN c, COLLECT { MATCH pt = (c)-[:OF_TYPE]->(:KnowledgeType) RETURN pt } AS type,
       COLLECT { MATCH pf = (c)-[:BROADER]-(:Concept) RETURN pf LIMIT 20 } AS family,
       COLLECT { MATCH pm = (:Mention)-[:CANONICAL]->(c) RETURN pm LIMIT 20 } AS mentions,
       COLLECT { MATCH pi = (:Item)-[:HAS_KNOWLEDGE]->(c) RETURN pi LIMIT 30 } AS items,
       COLLECT { MATCH pu = (:User)-[:INTERESTED_IN]->(c) RETURN pu LIMIT 30 } AS users;
