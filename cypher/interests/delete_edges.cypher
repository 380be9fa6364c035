// Remove the INTERESTED_IN edges of one extractor (all users when $users is null), in batches.
MATCH (u:User)-[r:INTERESTED_IN {extractor: $extractor}]->(:Concept)
WHERE $users IS NULL OR u.id IN $users
WITH r LIMIT $limit
DELETE r
RETURN count(*) AS deleted
