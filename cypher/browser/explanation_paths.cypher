// The explanation paths of one recommendation (as drawn by `kgrec report`): interests and train
// interactions of the user that reach the item through a shared concept, strongest first.
// Path weight = sign * product of confidence * |attention| (* INTERESTED_IN.weight); see docs/explanations.md.
// :param user => 'A2OAG0NE83ODBD'
// :param item => 'B0018YDKBS'
MATCH (u:User {id: $user}), (i:Item {id: $item})
CALL (u, i) {
  MATCH p = (u)-[ii:INTERESTED_IN]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
  RETURN p, coalesce(ii.polarity, 1) * coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0)
            * coalesce(abs(ii.attention), 1.0) * coalesce(hk.confidence, 1.0) * coalesce(abs(hk.attention), 1.0) AS weight
  UNION ALL
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[hj:HAS_KNOWLEDGE]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
  WHERE x.sign <> 0 AND j <> i
  RETURN p, sign(x.sign) * coalesce(x.confidence, 1.0) * coalesce(abs(x.attention), 1.0)
            * coalesce(hj.confidence, 1.0) * coalesce(abs(hj.attention), 1.0)
            * coalesce(hk.confidence, 1.0) * coalesce(abs(hk.attention), 1.0) AS weight
}
RETURN p, weight
ORDER BY abs(weight) DESC
LIMIT 25;
