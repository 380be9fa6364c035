// Ids of $users / $items that already belong to another dataset than $dataset (ids are unique per dataset):
// how many, and the first $limit of each.
CALL () {
  UNWIND $users AS id
  MATCH (u:User {id: id})
  WHERE u.dataset IS NOT NULL AND u.dataset <> $dataset
  RETURN count(u) AS n_users, collect(u.id + ' (' + u.dataset + ')')[..$limit] AS users
}
CALL () {
  UNWIND $items AS id
  MATCH (i:Item {id: id})
  WHERE i.dataset IS NOT NULL AND i.dataset <> $dataset
  RETURN count(i) AS n_items, collect(i.id + ' (' + i.dataset + ')')[..$limit] AS items
}
RETURN n_users, users, n_items, items
