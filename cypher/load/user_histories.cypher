// The stored users among $users (an append): their dataset and every interaction as [seq, split].
UNWIND $users AS id
MATCH (u:User {id: id})
RETURN u.id AS user, u.dataset AS dataset, [(u)-[e:INTERACTED]->(:Item) | [e.seq, e.split]] AS edges
