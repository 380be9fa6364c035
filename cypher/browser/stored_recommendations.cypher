// A user's stored list (RECOMMENDED edges written by `kgrec recommend` or `kgrec recommend --all`), in rank order,
// each item with the stored paths that explain it: the user's items that link to it in the list's run, and the
// user's interests it has. An item without such a path (a popular item stored for a user without interactions, or
// one the model's embeddings carry alone) is listed too, with p null. An item's item links come first (the item graph's
// part of its score; `kgrec explain --user U --item I` gives each reason's share), by |weight|, then its interests
// by weight x confidence (the two strengths are on different scales), an interest the user avoids
// (INTERESTED_IN.polarity < 0, kind `negative_interest`: it counts against the item) last, and only where fewer than
// three wanted ones leave room; equal ones by the ids along the path. An item the user interacted with more than
// once is one path. Paste into Neo4j Browser
// after setting the parameter.
// :param user => 'A2OAG0NE83ODBD'
MATCH (u:User {id: $user})-[r:RECOMMENDED]->(i:Item)
OPTIONAL CALL (u, r, i) {
  MATCH p = (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i)
  WHERE l.run = r.run
  WITH l, p, x ORDER BY x.seq DESC  // one path per item the user interacted with, however often: the latest
  WITH l, collect(p)[0] AS p
  RETURN p, 'item_link' AS kind, abs(l.weight) AS strength
  ORDER BY strength DESC, [n IN nodes(p)[1..-1] | n.id]
  LIMIT 3
  UNION
  MATCH p = (u)-[ii:INTERESTED_IN]->(:Concept)<-[:HAS_KNOWLEDGE]-(i)
  RETURN p, CASE WHEN ii.polarity < 0 THEN 'negative_interest' ELSE 'interest' END AS kind,
         coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0) AS strength
  ORDER BY kind = 'negative_interest', strength DESC, [n IN nodes(p)[1..-1] | n.id], ii.horizon
  LIMIT 3
}
RETURN r.rank AS rank, i.id AS item, i.title AS title, r.score AS score, r.run AS run, kind, p, strength
ORDER BY rank, kind <> 'item_link', kind = 'negative_interest', strength DESC, [n IN nodes(p)[1..-1] | n.id],
         [x IN relationships(p) | coalesce(x.horizon, '')];
