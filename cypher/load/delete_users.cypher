// Remove users of dataset $dataset that a reload no longer has, with every edge (interests, recommendations).
UNWIND $ids AS id
MATCH (u:User {id: id})
WHERE u.dataset = $dataset
DETACH DELETE u
RETURN count(*) AS users
