// A user's interactions by split (to show next to the profile).
MATCH (u:User {id: $user})
OPTIONAL MATCH (u)-[e:INTERACTED]->(:Item)
RETURN u.id AS user, count(e) AS interactions,
       count(CASE WHEN e.sign < 0 THEN 1 END) AS disliked,
       count(CASE WHEN coalesce(e.split, 'train') = 'train' THEN 1 END) AS train,
       count(CASE WHEN coalesce(e.split, 'train') = 'train' AND e.sign < 0 THEN 1 END) AS train_disliked
