// One user's interactions in order, with split, kind and the item's title.
// Parameters: $user, $limit
MATCH (u:User {id: $user})-[x:INTERACTED]->(i:Item)
RETURN x.seq AS seq, x.split AS split, x.kind AS kind, x.rating AS rating, i.id AS item, i.title AS title
ORDER BY x.seq
LIMIT $limit
