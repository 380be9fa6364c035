// How many of the users $ids are stored for dataset $dataset (an append that shares none of them, and none of the
// items its interactions name, is likely a file of another dataset).
UNWIND $ids AS id
MATCH (u:User {id: id})
WHERE u.dataset = $dataset
RETURN count(u) AS n
