// Item-link explanation paths of run $run from user $user to each item of $items (one round trip):
//   (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK {run: $run}]->(i)   (every interaction, whatever its split)
// Each path's weight is its exact additive share of the item's score (docs/explanations.md):
//   weight = $link_weight * x_j * l.weight,  x_j = $dislike_value when every train interaction with j is a
//   dislike, else 1 (repeat interactions with j give one path).
// One row per item of $items with item links: its best $per_item paths by |weight|, and their sum over all
// links (the item graph's whole share of the score).
// Params: $user, $items (list of Item.id), $run, $link_weight, $dislike_value, $per_item.
MATCH (u:User {id: $user})
UNWIND range(0, size($items) - 1) AS pos
MATCH (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i:Item {id: $items[pos]})
WHERE l.run = $run
WITH pos, i, j, l, collect(x) AS xs
WITH pos, i, j, l, xs[0] AS x, CASE WHEN all(e IN xs WHERE coalesce(e.sign, CASE WHEN e.rating IS NULL OR e.rating >= 4 THEN 1
                                                           WHEN e.rating <= 2 THEN -1 ELSE 0 END) < 0)
                         THEN $dislike_value ELSE 1.0 END AS xv
WITH pos, i, j, l, x, $link_weight * xv * l.weight AS weight
ORDER BY pos, abs(weight) DESC
WITH pos, i, collect({x: x, j: j, l: l, weight: weight}) AS all_paths
RETURN i.id AS item, reduce(s = 0.0, p IN all_paths | s + p.weight) AS total,
       [p IN all_paths[0..$per_item] | {
         kind: 'item_link', sign: CASE WHEN p.weight < 0 THEN -1 ELSE 1 END, weight: p.weight,
         via: p.j.id, via_title: coalesce(p.j.title, p.j.id), via_kind: p.x.kind,
         rels: [elementId(p.x), elementId(p.l)],
         edges: [
           {type: 'INTERACTED', kind: p.x.kind, sign: p.x.sign, rating: p.x.rating, split: p.x.split},
           {type: 'ITEM_LINK', weight: p.l.weight, run: p.l.run}
         ]
       }] AS paths
ORDER BY pos
