// One interaction recorded live (kgrec_neo4j/serve/record.py; the HTTP service's POST /users/{user}/interactions): a
// train INTERACTED edge after the user's highest stored seq, as `kgrec load --append` and the README's Browser
// snippet place one. A new user is created in the item's dataset. No kind, sign or kind_source: serving takes the
// sign from the rating as the loader does, and the next `kgrec update` classifies the edge (it has no kind_source)
// and recomputes the user's interests. Two requests for one user take turns (a lock on the user node before the
// seq is read), so each gets a seq of its own. When $timestamp is given and the user's latest interaction is this
// item at this timestamp, nothing is written (a retried request): `written` is false and `seq` is that edge's.
// `recorded`: when it was written (no load stamps it with an ingest number), so that `kgrec status` counts it among
// the interactions that arrived since the serving run was trained.
// No row when the item is not stored (nothing written). Whether the user is of the item's dataset is read under the
// lock (`clash`: nothing written), as is whether this request created the user (`new_user`): two requests for one
// new user at once both found none before either was written.
// Params: $user, $item, $rating, $timestamp, $review_title, $review_text.
MATCH (i:Item {id: $item})
MERGE (u:User {id: $user})
  ON CREATE SET u.dataset = i.dataset, u.n_interactions = 0, u.record_created = true
WITH u, i, u.record_created IS NOT NULL AS new_user
REMOVE u.record_created
WITH u, i, new_user
CALL apoc.lock.nodes([u])
WITH u, i, new_user, u.dataset IS NOT NULL AND i.dataset IS NOT NULL AND u.dataset <> i.dataset AS clash
CALL (u) {
  OPTIONAL MATCH (u)-[x:INTERACTED]->(j:Item)
  WHERE x.seq IS NOT NULL
  WITH x, j ORDER BY x.seq DESC LIMIT 1
  RETURN x.seq AS last_seq, j.id AS last_item, x.timestamp AS last_ts
}
WITH u, i, new_user, clash, last_seq,
     coalesce($timestamp IS NOT NULL AND last_item = $item AND last_ts = $timestamp, false) AS again
OPTIONAL CALL (u, i, last_seq, again, clash) {
  WITH u, i, last_seq, again, clash WHERE NOT again AND NOT clash
  CREATE (u)-[e:INTERACTED {seq: coalesce(last_seq + 1, 0), split: 'train'}]->(i)
  SET e.rating = $rating, e.timestamp = $timestamp, e.recorded = datetime(), e.review_title = $review_title, e.review_text = $review_text,
      u.n_interactions = coalesce(u.n_interactions, 0) + 1
  RETURN e.seq AS seq
}
RETURN coalesce(seq, last_seq) AS seq, NOT again AND NOT clash AS written, new_user, clash, u.dataset AS user_dataset,
       i.dataset AS item_dataset
