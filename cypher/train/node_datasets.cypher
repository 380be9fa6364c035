// Every user's and item's dataset, as [id, dataset] pairs (an export over several datasets ranks each user's own
// dataset's items only when it evaluates).
RETURN COLLECT { MATCH (u:User) RETURN [u.id, u.dataset] } AS users,
       COLLECT { MATCH (i:Item) RETURN [i.id, i.dataset] } AS items
