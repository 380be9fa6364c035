// One interaction recorded live (kgrec_neo4j/serve/record.py; the HTTP service's POST /users/{user}/interactions): a
// train INTERACTED edge after the user's highest stored seq, as `kgrec load --append` and the README's Browser
// snippet place one. A new user is created in the item's dataset. No kind, sign or kind_source: serving takes the
// sign from the rating as the loader does, and the next `kgrec update` classifies the edge (it has no kind_source)
// and recomputes the user's interests. Two requests for one user take turns (a lock on the user node before the
// seq is read), so each gets a seq of its own. When $timestamp is given and the user has an interaction with this
// item at this timestamp (anywhere in the history: other interactions may have come after it) with the same rating
// and review, nothing is written (a retried request): `written` is false and `seq` is that edge's; with another
// rating or review, nothing is written either (`differs`, with the stored edge's seq and rating): a retry sends the
// same values, and a new interaction another timestamp. (Until 2026-12-04 only the latest interaction was compared,
// and only by item and timestamp: a retry after another interaction was stored twice, a changed rating dropped.)
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
  OPTIONAL MATCH (u)-[x:INTERACTED]->(:Item)
  WHERE x.seq IS NOT NULL
  WITH x ORDER BY x.seq DESC LIMIT 1
  RETURN x.seq AS last_seq
}
CALL (u, i) {
  OPTIONAL MATCH (u)-[y:INTERACTED]->(i)
  WHERE $timestamp IS NOT NULL AND y.timestamp = $timestamp
  WITH y ORDER BY y.seq DESC LIMIT 1
  WITH y, [f IN [['rating', coalesce(y.rating, -1.0) <> coalesce($rating, -1.0)],
                  ['review_title', coalesce(y.review_title, '') <> coalesce($review_title, '')],
                  ['review_text', coalesce(y.review_text, '') <> coalesce($review_text, '')]] WHERE f[1] | f[0]] AS diff
  RETURN y.seq AS same_seq, y.rating AS same_rating, y IS NOT NULL AND diff = [] AS same_values,
         CASE WHEN y IS NULL THEN [] ELSE diff END AS differing
}
WITH u, i, new_user, clash, last_seq, same_seq, same_rating, differing, same_seq IS NOT NULL AND same_values AS again,
     same_seq IS NOT NULL AND NOT same_values AS differs
OPTIONAL CALL (u, i, last_seq, again, differs, clash) {
  WITH u, i, last_seq, again, differs, clash WHERE NOT again AND NOT differs AND NOT clash
  CREATE (u)-[e:INTERACTED {seq: coalesce(last_seq + 1, 0), split: 'train'}]->(i)
  SET e.rating = $rating, e.timestamp = $timestamp, e.recorded = datetime(), e.review_title = $review_title, e.review_text = $review_text,
      u.n_interactions = coalesce(u.n_interactions, 0) + 1
  RETURN e.seq AS seq
}
RETURN coalesce(seq, same_seq, last_seq) AS seq, seq IS NOT NULL AS written, new_user, clash, differs, differing,
       same_rating AS stored_rating, u.dataset AS user_dataset, i.dataset AS item_dataset
