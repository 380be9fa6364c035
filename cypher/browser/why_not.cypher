// Why not: the negative paths between a user and an item — train dislikes sharing a concept with the
// item, and negative interests (polarity -1) in one of its concepts — strongest first.
// :param user => 'A2OAG0NE83ODBD'
// :param item => 'B0018YDKBS'
MATCH (u:User {id: $user}), (i:Item {id: $item})
CALL (u, i) {
  MATCH p = (u)-[ii:INTERESTED_IN]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
  WHERE ii.polarity < 0
  RETURN p, 'you are not interested in ' + c.name AS reason,
         coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0) * coalesce(abs(ii.attention), 1.0)
         * coalesce(hk.confidence, 1.0) * coalesce(abs(hk.attention), 1.0) AS strength
  UNION ALL
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[hj:HAS_KNOWLEDGE]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
  WHERE x.sign < 0 AND j <> i
  RETURN p, 'you disliked ' + coalesce(j.title, j.id) + ', which shares ' + c.name AS reason,
         coalesce(x.confidence, 1.0) * coalesce(abs(x.attention), 1.0) * coalesce(hj.confidence, 1.0)
         * coalesce(abs(hj.attention), 1.0) * coalesce(hk.confidence, 1.0) * coalesce(abs(hk.attention), 1.0) AS strength
}
RETURN reason, strength, p
ORDER BY strength DESC
LIMIT 25;
