// Users per item now (every INTERACTED edge, whatever its split), each user once and not a user who only disliked
// it (an edge without `sign` takes it from `rating`): the fallback ranking for a user with no edges at all. (It
// counted edges: one user's repeated purchases, and dislikes, made an item "popular".)
MATCH (i:Item)
OPTIONAL MATCH (u:User)-[x:INTERACTED]->(i)
WITH i, u, max(coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1
                                WHEN x.rating <= 2 THEN -1 ELSE 0 END)) AS best
RETURN i.id AS id, count(CASE WHEN best >= 0 THEN u END) AS interactions
