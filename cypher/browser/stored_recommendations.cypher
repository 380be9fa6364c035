// A user's stored list (RECOMMENDED edges written by `kgrec recommend` or `kgrec recommend --all`), in rank order,
// each item with the stored paths that explain it: the user's items that link to it in the list's run, and the
// user's interests it has. An item without such a path (a popular item stored for a user without interactions, or
// one the model's embeddings carry alone) is listed too, with p null. An item's item links come first (the item graph's
// part of its score), by the size of their share of the score (`strength`: item_link_weight * x * decay ^ back * link
// weight, as item_links.cypher and `kgrec explain --user U --item I` give it; until 2026-12-04 by the link's weight
// alone, which left out recent items' links with several times the share), then its interests by weight x confidence
// (the two strengths are on different scales), an interest the user avoids
// (INTERESTED_IN.polarity < 0, kind `negative_interest`: it counts against the item) last, and only where fewer than
// three wanted ones leave room; equal ones by the ids along the path. An item the user interacted with more than
// once is one path. A list stored by a run that does not serve now (another run became current since: its item
// links are usually gone, so its items show their interests only) says so in `note`. Paste into Neo4j Browser
// after setting the parameter.
// :param user => 'A2OAG0NE83ODBD'
MATCH (u:User {id: $user})-[r:RECOMMENDED]->(i:Item)
OPTIONAL MATCH (cur:ModelRun {current: true})
OPTIONAL CALL (u, r, i) {
  OPTIONAL MATCH (m:ModelRun {id: r.run})
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i)
  WHERE l.run = r.run
  WITH m, u, l, p, x ORDER BY x.seq DESC  // one path per item the user interacted with, however often: the latest
  WITH m, u, l, collect(p)[0] AS p,
       max(coalesce(x.sign, CASE WHEN properties(x).rating IS NULL OR properties(x).rating >= 4 THEN 1
                                 WHEN properties(x).rating <= 2 THEN -1 ELSE 0 END)) AS best,
       CASE WHEN count(x.seq) < count(x) THEN null ELSE max(x.seq) END AS last
  WITH m, l, p, best,
       CASE WHEN last IS NULL THEN 0 ELSE COUNT { (u)-[y:INTERACTED]->(:Item) WHERE y.seq IS NULL OR y.seq > last } END AS back
  WITH p, coalesce(m.item_link_weight, 0.0) * l.weight
       * CASE WHEN best < 0 THEN coalesce(m.item_link_dislike_value, 1.0) ELSE 1.0 END
       * coalesce(apoc.convert.fromJsonMap(coalesce(m.metrics, '{}')).recency.item_graph, 1.0) ^ back AS share
  RETURN p, 'item_link' AS kind, share AS strength
  ORDER BY abs(share) DESC, [n IN nodes(p)[1..-1] | n.id]
  LIMIT 3
  UNION
  MATCH p = (u)-[ii:INTERESTED_IN]->(:Concept)<-[:HAS_KNOWLEDGE]-(i)
  RETURN p, CASE WHEN ii.polarity < 0 THEN 'negative_interest' ELSE 'interest' END AS kind,
         coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0) AS strength
  ORDER BY kind = 'negative_interest', strength DESC, [n IN nodes(p)[1..-1] | n.id], ii.horizon
  LIMIT 3
}
RETURN r.rank AS rank, i.id AS item, i.title AS title, r.score AS score, r.run AS run,
       CASE WHEN r.run = cur.id THEN null
            ELSE 'stored by run ' + coalesce(r.run, '?') + ', which does not serve now: `kgrec recommend --user '
                 + u.id + '` stores the list of the run that does' END AS note,
       kind, p, strength
ORDER BY rank, kind <> 'item_link', kind = 'negative_interest', abs(strength) DESC, [n IN nodes(p)[1..-1] | n.id],
         [x IN relationships(p) | coalesce(x.horizon, '')];
