// A user's train history in numbers (for the report header).
MATCH (u:User {id: $user})
RETURN u.id AS user,
       COUNT { (u)-[x:INTERACTED]->() WHERE x.split = 'train' } AS train,
       COUNT { (u)-[x:INTERACTED]->() WHERE x.split = 'train' AND x.sign > 0 } AS positive,
       COUNT { (u)-[x:INTERACTED]->() WHERE x.split = 'train' AND x.sign < 0 } AS negative,
       COUNT { (u)-[:INTERESTED_IN]->() } AS interests
