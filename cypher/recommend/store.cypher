// Replace each user's RECOMMENDED edges with the new list (one row per user; all or nothing per batch).
// row: {user, items: [{item, rank, score}]}
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u) {
  MATCH (u)-[old:RECOMMENDED]->(:Item)
  DELETE old
}
WITH u, row
UNWIND row.items AS rec
MATCH (i:Item {id: rec.item})
MERGE (u)-[r:RECOMMENDED]->(i)
SET r.rank = rec.rank, r.score = rec.score, r.run = $run, r.created = datetime()
