// A user's history in numbers (for the report header): every interaction, whatever its split.
MATCH (u:User {id: $user})
RETURN u.id AS user,
       COUNT { (u)-[x:INTERACTED]->() } AS interactions,
       COUNT { (u)-[x:INTERACTED]->() WHERE x.sign > 0 } AS positive,
       COUNT { (u)-[x:INTERACTED]->() WHERE x.sign < 0 } AS negative,
       COUNT { (u)-[:INTERESTED_IN]->() } AS interests
