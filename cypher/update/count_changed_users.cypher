// How many users are stamped with an ingest number in ($previous, $ingest] (update/changed_users, counted on the
// user_ingest index).
MATCH (u:User)
WHERE u.ingest > $previous AND u.ingest <= $ingest
RETURN count(u) AS users
