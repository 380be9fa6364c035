// INTERACTED edges among those a classification reads whose values no stage can read: a `rating` or `confidence`
// that is not a number, a `seq` that is not an integer (written by hand, e.g. `{seq: '99', rating: '5'}` in Browser:
// the classification stopped on it with a Cypher type error, and every `kgrec update` after it resumed and stopped the
// same way). Up to 5 of them, each named by user, item and the value at fault; the caller refuses to classify
// (kgrec_neo4j/users/interactions/classify.py).
// $edges / $users: as cypher/interactions/summary.cypher selects them.
CALL () {
  UNWIND CASE WHEN $edges IS NULL AND $users IS NULL THEN [1] ELSE [] END AS every
  CALL (every) {  // correlated: each branch's match runs once per row of its list, whatever the plan (a planner
    MATCH (u:User)-[e:INTERACTED]->(:Item)  // free to join an uncorrelated match with an empty list could still
    RETURN u, e                             // scan every user first)
  }
  RETURN u, e
  UNION ALL
  UNWIND CASE WHEN $edges IS NULL THEN coalesce($users, []) ELSE [] END AS uid
  CALL (uid) {
    MATCH (u:User {id: uid})-[e:INTERACTED]->(:Item)
    RETURN u, e
  }
  RETURN u, e
  UNION ALL
  UNWIND coalesce($edges, []) AS id
  CALL (id) {
    MATCH (u:User)-[e:INTERACTED]->(:Item)
    WHERE elementId(e) = id
    RETURN u, e
  }
  RETURN u, e
}
WITH u, e
WITH u, e, [k IN ['rating', 'confidence'] WHERE e[k] IS NOT NULL AND NOT (e[k] IS :: INTEGER OR e[k] IS :: FLOAT)]
           + CASE WHEN e.seq IS NOT NULL AND NOT e.seq IS :: INTEGER THEN ['seq'] ELSE [] END AS bad
WHERE size(bad) > 0
WITH u, e, bad LIMIT 5
RETURN u.id AS user, endNode(e).id AS item, bad[0] AS property,
       coalesce(toStringOrNull(e[bad[0]]), valueType(e[bad[0]])) AS value,
       valueType(e[bad[0]]) AS type
