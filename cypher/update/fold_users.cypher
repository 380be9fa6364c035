// The users whose edges an item's fold-in reads, and what their own fold-in reads: per user of $users, every
// INTERACTED edge (train split only unless $all_interactions: an evaluation run's items never read valid / test)
// at or above $min_confidence, per item [item id, has a non-negative interaction, number of dislikes, last seq,
// last timestamp, [[seq, non-negative] of each interaction]] (the recency weights); every
// INTERESTED_IN edge at or above $min_confidence as [concept id, horizon, polarity, weight]; the user's own
// embedding of run $run when the run trained the user. An edge without `sign` takes it from `rating` as the
// loader does.
UNWIND $users AS user_id
MATCH (u:User {id: user_id})
RETURN user_id AS id, u.dataset AS dataset,
       CASE WHEN u.gnn_run = $run THEN u.gnn_ego WHEN u.gnn_prev_run = $run THEN u.gnn_prev_ego END AS ego,
       COLLECT { MATCH (u)-[x:INTERACTED]->(i:Item)
                 WHERE ($all_interactions OR coalesce(x.split, 'train') = 'train') AND coalesce(x.confidence, 1.0) >= $min_confidence
                 WITH i, x, coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1
                                                  WHEN x.rating <= 2 THEN -1 ELSE 0 END) AS sign
                 WITH i, max(sign) AS best, sum(CASE WHEN sign < 0 THEN 1 ELSE 0 END) AS dislikes,
                      max(x.seq) AS seq, max(x.timestamp) AS ts, collect([x.seq, sign >= 0]) AS events
                 RETURN [i.id, best >= 0, dislikes, seq, ts, events] } AS history,
       COLLECT { MATCH (u)-[ii:INTERESTED_IN]->(c:Concept)
                 WHERE coalesce(ii.confidence, 1.0) >= $min_confidence
                 RETURN [c.id, ii.horizon, ii.polarity, ii.weight] } AS interests
