// Whether a user with this id is stored (checked before a recommendation loads anything).
// Params: $id (User.id).
MATCH (u:User {id: $id})
RETURN count(u) > 0 AS exists
