// Before an interaction is recorded live (cypher/interactions/record.cypher): whether the item is stored, whether
// the user is, and their datasets (user and item ids are unique per dataset: a user of one dataset does not
// interact with another dataset's items).
// Params: $user, $item.
OPTIONAL MATCH (i:Item {id: $item})
OPTIONAL MATCH (u:User {id: $user})
RETURN i IS NOT NULL AS item_found, i.dataset AS item_dataset, u IS NOT NULL AS user_found, u.dataset AS user_dataset
