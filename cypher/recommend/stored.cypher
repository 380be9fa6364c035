// A user's stored recommendations, in rank order.
MATCH (u:User {id: $user})-[r:RECOMMENDED]->(i:Item)
RETURN i.id AS item, i.title AS title, r.rank AS rank, r.score AS score, r.run AS run
ORDER BY r.rank
