// Users a Graph-RAG run finds with nothing left to read (their train interactions are all read: a reload removed
// those after their progress marker) lose the reason an earlier failed request of $extractor left: there is nothing
// to retry, and `kgrec status` would count them as failed for good.
// Params: $users, $extractor.
MATCH (u:User)
WHERE u.id IN $users AND u.interests_error_by = $extractor
REMOVE u.interests_error, u.interests_error_by, u.interests_failed_at
RETURN count(u) AS users
