// Item links: how the current run's item graph scores an item for a user — every train item of the user
// with an ITEM_LINK to it, and that path's exact share of the score (item_link_weight * x * link weight).
// `borrowed`: a link into a new item, borrowed by `kgrec update` from the items most like it;
// `neighbour`: the user's item is one of those items (its own link is in the weight).
// :param user => 'A2OAG0NE83ODBD'
// :param item => 'B0018YDKBS'
MATCH (r:ModelRun {current: true})
MATCH (u:User {id: $user}), (i:Item {id: $item})
MATCH p = (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i)
WHERE l.run = r.id
WITH r, p, j, l, collect(x) AS xs
WITH p, j, l, coalesce(r.item_link_weight, 0.0)
     * CASE WHEN all(e IN xs WHERE e.sign < 0) THEN coalesce(r.item_link_dislike_value, 1.0) ELSE 1.0 END
     * l.weight AS share
RETURN coalesce(j.title, j.id) AS via, share, coalesce(l.borrowed, false) AS borrowed,
       coalesce(l.neighbour, false) AS neighbour, p
ORDER BY abs(share) DESC
LIMIT 25;
