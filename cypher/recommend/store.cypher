// Replace each user's RECOMMENDED edges with the new list (one row per user; all or nothing per batch). Each edge
// records the run, when it was written, and the user's history it was computed from (`history`: the number of
// INTERACTED edges, `last_seq`: the highest seq among them), from which `kgrec users show` tells a user who
// interacted since.
// row: {user, items: [{item, rank, score}]}
UNWIND $rows AS row
MATCH (u:User {id: row.user})
CALL (u) {
  MATCH (u)-[old:RECOMMENDED]->(:Item)
  DELETE old
}
CALL (u) {
  OPTIONAL MATCH (u)-[x:INTERACTED]->(:Item)
  RETURN count(x) AS history, max(x.seq) AS last_seq
}
WITH u, row, history, last_seq
UNWIND row.items AS rec
MATCH (i:Item {id: rec.item})
MERGE (u)-[r:RECOMMENDED]->(i)
SET r.rank = rec.rank, r.score = rec.score, r.run = $run, r.created = datetime(), r.history = history,
    r.last_seq = last_seq
