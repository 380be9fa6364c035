// The stored paths that can explain one recommendation (as `kgrec report` draws them): the user's interacted items
// with an ITEM_LINK of the current run to the item (each with its exact item-graph share of the served score:
// item_link_weight * x * decay ^ back * weight, x the run's dislike value for an item the user only disliked,
// decay the run's item-graph recency decay (`recency.item_graph` of its metrics; 1 when none) and back the user's
// interactions after j's latest one by `seq`; no item links without a current run), interacted items
// sharing a concept with the item (the most specific concepts first: fewest items), interests in one of its
// concepts, and family paths where neither holds (concepts of one family joined by BROADER edges: an interacted
// item that shares no concept with the item, an interest the item does not have). An interest the user avoids
// (INTERESTED_IN.polarity < 0) is a `negative_interest` (`negative_interest_family`): it counts against the item,
// and is listed after the other paths without a share.
// The full share of each reason (model and item graph) comes from `kgrec explain --user U --item I`.
// At most the 10 largest item links are listed, so that the other paths find room in the 25 rows (for a user with
// hundreds of interactions, faded item links of shares near 0 filled them all).
// Equal rows keep one order from run to run: by the ids along the path, then the interest's horizon. An item the
// user interacted with more than once gives one path per reason, not one per interaction.
// :param user => 'A2OAG0NE83ODBD'
// :param item => 'B0018YDKBS'
MATCH (u:User {id: $user}), (i:Item {id: $item})
OPTIONAL MATCH (r:ModelRun {current: true})
CALL (r, u, i) {
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i)
  WHERE l.run = r.id
  WITH r, u, j, l, p, x ORDER BY x.seq DESC  // (the path drawn: the latest interaction with j)
  WITH r, u, j, l, collect(p)[0] AS p,
       max(coalesce(x.sign, CASE WHEN properties(x).rating IS NULL OR properties(x).rating >= 4 THEN 1
                                   WHEN properties(x).rating <= 2 THEN -1 ELSE 0 END)) AS best,
       CASE WHEN count(x.seq) < count(x) THEN null ELSE max(x.seq) END AS last
  WITH r, j, l, p, best,
       CASE WHEN last IS NULL THEN 0 ELSE COUNT { (u)-[y:INTERACTED]->(:Item) WHERE y.seq IS NULL OR y.seq > last } END AS back
  RETURN p, 'item_link' AS kind, coalesce(r.item_link_weight, 0.0) * l.weight
            * CASE WHEN best < 0 THEN coalesce(r.item_link_dislike_value, 1.0) ELSE 1.0 END
            * coalesce(apoc.convert.fromJsonMap(coalesce(r.metrics, '{}')).recency.item_graph, 1.0) ^ back AS share,
         0 AS items
  ORDER BY abs(share) DESC, [n IN nodes(p)[1..-1] | n.id]
  LIMIT 10
  UNION ALL
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i)
  WHERE j <> i
  WITH j, c, p, x ORDER BY x.seq DESC
  WITH j, c, collect(p)[0] AS p
  RETURN p, 'shared_concept' AS kind, null AS share, COUNT { (c)<-[:HAS_KNOWLEDGE]-() } AS items
  UNION ALL
  MATCH p = (u)-[ii:INTERESTED_IN]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i)
  RETURN p, CASE WHEN ii.polarity < 0 THEN 'negative_interest' ELSE 'interest' END AS kind, null AS share,
         COUNT { (c)<-[:HAS_KNOWLEDGE]-() } AS items
  UNION ALL
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[:HAS_KNOWLEDGE]->(c:Concept)-[:BROADER]-(ci:Concept)<-[:HAS_KNOWLEDGE]-(i)
  WHERE j <> i AND NOT EXISTS { (j)-[:HAS_KNOWLEDGE]->(:Concept)<-[:HAS_KNOWLEDGE]-(i) }
  WITH j, c, ci, p, x ORDER BY x.seq DESC
  WITH j, c, ci, collect(p)[0] AS p
  RETURN p, 'family_concept' AS kind, null AS share, COUNT { (ci)<-[:HAS_KNOWLEDGE]-() } AS items
  UNION ALL
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[:HAS_KNOWLEDGE]->(c:Concept)-[:BROADER]->(:Concept)<-[:BROADER]-(ci:Concept)
            <-[:HAS_KNOWLEDGE]-(i)
  WHERE j <> i AND ci <> c AND NOT EXISTS { (j)-[:HAS_KNOWLEDGE]->(:Concept)<-[:HAS_KNOWLEDGE]-(i) }
  WITH j, c, ci, p, x ORDER BY x.seq DESC
  WITH j, c, ci, nodes(p)[3] AS b, collect(p)[0] AS p
  RETURN p, 'family_concept' AS kind, null AS share, COUNT { (ci)<-[:HAS_KNOWLEDGE]-() } AS items
  UNION ALL
  MATCH p = (u)-[ii:INTERESTED_IN]->(c:Concept)-[:BROADER]-(ci:Concept)<-[:HAS_KNOWLEDGE]-(i)
  WHERE NOT EXISTS { (i)-[:HAS_KNOWLEDGE]->(c) }
  RETURN p, CASE WHEN ii.polarity < 0 THEN 'negative_interest_family' ELSE 'interest_family' END AS kind, null AS share,
         COUNT { (ci)<-[:HAS_KNOWLEDGE]-() } AS items
}
RETURN kind, share, p
ORDER BY abs(coalesce(share, 0.0)) DESC, kind STARTS WITH 'negative', items,
         [n IN nodes(p)[1..-1] | n.id], [x IN relationships(p) | coalesce(x.horizon, '')]
LIMIT 25;
