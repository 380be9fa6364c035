// Items whose knowledge reaches a concept created at or after $started (grown by this update from pending
// mentions, which may be old items' mentions too).
MATCH (c:Concept)<-[:HAS_KNOWLEDGE]-(i:Item)
WHERE c.created_at >= datetime($started)
RETURN DISTINCT i.id AS id
