// What serving needs to demote or group editions and ports: the items that are the same work as an item
// the user owns (interacted with in one of $splits), each with the owned items and the kind of link.
// Items the user owns themselves are not returned.
// Parameters: $user (user id), $splits (INTERACTED.split values that count as owned, e.g. ['train']).
MATCH (u:User {id: $user})-[e:INTERACTED]->(o:Item)
WHERE coalesce(e.split, 'train') IN $splits
MATCH (o)-[s:SAME_WORK]-(i:Item)
WHERE NOT EXISTS { MATCH (u)-[e2:INTERACTED]->(i) WHERE coalesce(e2.split, 'train') IN $splits }
RETURN i.id AS item, i.title AS title,
       collect(DISTINCT {item: o.id, title: o.title, kind: s.kind}) AS owned
ORDER BY item
