// The users who interacted with each item of $ids (train split only unless $all_interactions, at or above
// $min_confidence): the item's first interactions, which its fold-in reads, as [user id, has a non-negative
// interaction, number of dislikes]. An edge without `sign` takes it from `rating` as the loader does.
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN id AS item,
       COLLECT { MATCH (i)<-[x:INTERACTED]-(u:User)
                 WHERE ($all_interactions OR coalesce(x.split, 'train') = 'train') AND coalesce(x.confidence, 1.0) >= $min_confidence
                 WITH u, coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1
                                               WHEN x.rating <= 2 THEN -1 ELSE 0 END) AS sign
                 WITH u, max(sign) AS best, sum(CASE WHEN sign < 0 THEN 1 ELSE 0 END) AS dislikes
                 RETURN [u.id, best >= 0, dislikes] } AS users
