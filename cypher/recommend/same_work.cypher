// Editions and ports of what each user owns (serving: every interaction counts): for each user of $users, the items
// linked by SAME_WORK to an item the user interacted with, that the user has not interacted with themselves, with
// the titles of the owned items. Serving demotes or groups them (setting same_work) and says why.
// Params: $users (list of User.id).
UNWIND $users AS user_id
MATCH (u:User {id: user_id})-[:INTERACTED]->(o:Item)-[:SAME_WORK]-(i:Item)
WHERE NOT EXISTS { (u)-[:INTERACTED]->(i) }
RETURN user_id AS id, i.id AS item, collect(DISTINCT coalesce(o.title, o.id)) AS owned
