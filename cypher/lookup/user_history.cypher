// One user's latest $limit interactions, the latest first (an edge without seq, as Browser writes one, is the
// latest), with split, kind and the item's title.
// Parameters: $user, $limit
MATCH (u:User {id: $user})-[x:INTERACTED]->(i:Item)
RETURN x.seq AS seq, x.split AS split, x.kind AS kind, x.rating AS rating, i.id AS item, i.title AS title
ORDER BY x.seq IS NULL DESC, x.seq DESC
LIMIT $limit
