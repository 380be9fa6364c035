// Users, to find one to look at: the most active first. $text (or null) keeps the users whose id contains
// it (case-insensitive); $limit caps the list.
// Parameters: $text, $limit
MATCH (u:User)
WHERE $text IS NULL OR toLower(u.id) CONTAINS toLower($text)
WITH u, COUNT { (u)-[:INTERACTED]->() } AS interactions
ORDER BY interactions DESC, u.id
LIMIT $limit
RETURN u.id AS user, interactions,
       COUNT { (u)-[x:INTERACTED]->() WHERE coalesce(x.split, 'train') = 'train' } AS train,
       COUNT { (u)-[:INTERESTED_IN]->() } AS interests,
       COUNT { (u)-[:RECOMMENDED]->() } AS recommended
