// User ids in a stable order (all users, or those of one dataset), optionally only the first $limit.
MATCH (u:User)
WHERE $dataset IS NULL OR u.dataset = $dataset
WITH u.id AS id ORDER BY id
RETURN collect(id)[0..coalesce($limit, 2147483647)] AS ids
