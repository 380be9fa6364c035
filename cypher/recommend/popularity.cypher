// Interactions per item now (every INTERACTED edge, whatever its split): the fallback ranking for a user with
// no edges at all.
MATCH (i:Item)
RETURN i.id AS id, COUNT { (i)<-[:INTERACTED]-(:User) } AS interactions
