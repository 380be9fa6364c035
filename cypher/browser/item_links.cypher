// Item links: how the current run's item graph scores an item for a user — every item the user interacted with
// (whatever its split: serving reads every INTERACTED edge) with an ITEM_LINK of the run to it, and that path's
// exact share of the served score: item_link_weight * x * decay ^ back * link weight, x the run's dislike value for
// an item the user only disliked (1 otherwise; an edge without `sign` takes it from `rating`), decay the run's
// item-graph recency decay (`recency.item_graph` of its metrics; 1 when it has none) and back the user's
// interactions after the item's latest one by `seq` (an edge without `seq`, as typed in Browser, is the latest).
// `borrowed`: a link of a new item, borrowed by `kgrec update` from the items most like it; `from_new`: the user's
// item is the new one (a link out of it); `neighbour`: the other end is one of those items (its own link is in the
// weight).
// :param user => 'A2OAG0NE83ODBD'
// :param item => 'B0018YDKBS'
MATCH (r:ModelRun {current: true})
MATCH (u:User {id: $user}), (i:Item {id: $item})
MATCH p = (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i)
WHERE l.run = r.id
WITH r, u, j, l, collect(p)[0] AS p,
     max(coalesce(x.sign, CASE WHEN properties(x).rating IS NULL OR properties(x).rating >= 4 THEN 1
                                   WHEN properties(x).rating <= 2 THEN -1 ELSE 0 END)) AS best,
     CASE WHEN count(x.seq) < count(x) THEN null ELSE max(x.seq) END AS last
WITH r, p, j, l, best,
     CASE WHEN last IS NULL THEN 0 ELSE COUNT { (u)-[y:INTERACTED]->(:Item) WHERE y.seq IS NULL OR y.seq > last } END AS back
WITH p, j, l, coalesce(r.item_link_weight, 0.0) * l.weight
     * CASE WHEN best < 0 THEN coalesce(r.item_link_dislike_value, 1.0) ELSE 1.0 END
     * coalesce(apoc.convert.fromJsonMap(coalesce(r.metrics, '{}')).recency.item_graph, 1.0) ^ back AS share
// (`borrowed`, `from_new` and `neighbour` through properties(): a graph no update touched has none of the keys, and
// reading one off the link warns)
RETURN coalesce(j.title, j.id) AS via, share, coalesce(properties(l).borrowed, false) AS borrowed,
       coalesce(properties(l).from_new, false) AS from_new, coalesce(properties(l).neighbour, false) AS neighbour, p
ORDER BY abs(share) DESC, j.id
LIMIT 25;
