// The item-graph part of the score for a few users without loading the run's links: for each user of $users,
// sum over the user's interacted items j of x[u, j] * w(j -> i) for every item i that j links to in run $run
// (x = 1, or $dislike_value for an item the user only disliked; an edge without `sign` takes it from `rating`);
// `sources` names each weight's j (the caller multiplies in j's recency weight).
// Params: $users (list of User.id), $run, $dislike_value.
UNWIND $users AS user_id
MATCH (u:User {id: user_id})-[x:INTERACTED]->(j:Item)
WITH user_id, j, max(coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1
                                       WHEN x.rating <= 2 THEN -1 ELSE 0 END)) AS best
WITH user_id, j, CASE WHEN best < 0 THEN $dislike_value ELSE 1.0 END AS xv
MATCH (j)-[l:ITEM_LINK]->(i:Item)
WHERE l.run = $run
RETURN user_id AS id, collect(i.id) AS items, collect(xv * l.weight) AS weights, collect(j.id) AS sources
