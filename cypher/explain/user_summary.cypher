// A user's history in numbers (for the report header): every interaction, whatever its split. An interaction with
// neither rating nor review (a purchase, a click: kind_source 'none', or not classified yet and without a rating) is
// counted as such, not as positive; one not classified yet takes its sign from its rating, as serving does.
MATCH (u:User {id: $user})
CALL (u) {
  MATCH (u)-[x:INTERACTED]->()
  WITH x, coalesce(x.kind_source = 'none', x.rating IS NULL) AS implicit,
       coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1 WHEN x.rating <= 2 THEN -1 ELSE 0 END) AS sign
  RETURN count(x) AS interactions,
         count(CASE WHEN NOT implicit AND sign > 0 THEN 1 END) AS positive,
         count(CASE WHEN NOT implicit AND sign < 0 THEN 1 END) AS negative,
         count(CASE WHEN NOT implicit AND sign = 0 THEN 1 END) AS mixed,
         count(CASE WHEN implicit THEN 1 END) AS implicit
}
RETURN u.id AS user, interactions, positive, negative, mixed, implicit,
       COUNT { (u)-[:INTERESTED_IN]->() } AS interests
