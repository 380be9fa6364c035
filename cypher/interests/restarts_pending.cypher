// Users of $users whose `--restart` is not done: the request of their first batch failed (interests/mark_failed), so
// their earlier state is whole and the next run, restarted or not, reads them from their first interaction again.
// Params: $users (list of User.id).
UNWIND $users AS uid
MATCH (u:User {id: uid})
WHERE u.interests_restart_pending = true
RETURN collect(u.id) AS users
