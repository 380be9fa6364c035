// The users to score, read live: every INTERACTED edge of each user (whatever its split, however it was written)
// and every INTERESTED_IN edge at or above $min_confidence, plus the user's own embedding of run $run when the run
// trained the user. One round trip for a batch of users; the caller reads the current run after it.
//   history:   [item id, has a non-negative interaction, number of dislikes, last seq, last timestamp,
//               [[seq, non-negative] of each interaction with the item]] per item (the recency weights);
//              an edge without `sign` (written by hand, e.g. in Browser) takes its sign from `rating` the way
//              the loader does (>= 4 like, <= 2 dislike, 3 mixed, no rating implicit +1). A `seq` written by
//              hand as text ('99') is read as the number it spells (one that spells none as missing): it stopped
//              the request with a TypeError, a 500. (A rating written as text compares as no number: mixed, as in
//              every other reader; the classification refuses it, naming the edge, and `kgrec doctor` names it.)
//   interests: [concept id, horizon, polarity, weight].
//   same_work: [item id, [titles of the owned items]] per item linked by SAME_WORK to an item the user interacted
//              with and not interacted with itself (editions and ports: serving demotes, groups or keeps them).
// Params: $users (list of User.id), $run, $min_confidence.
UNWIND $users AS user_id
OPTIONAL MATCH (u:User {id: user_id})
RETURN user_id AS id, u.dataset AS dataset, u IS NOT NULL AS found,
       CASE WHEN u.gnn_run = $run THEN u.gnn_ego WHEN u.gnn_prev_run = $run THEN u.gnn_prev_ego END AS ego,
       COLLECT { MATCH (u)-[x:INTERACTED]->(i:Item)
                 WITH i, x, toIntegerOrNull(x.seq) AS s
                 WITH i, x, s, coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1
                                                     WHEN x.rating <= 2 THEN -1 ELSE 0 END) AS sign
                 WITH i, max(sign) AS best, sum(CASE WHEN sign < 0 THEN 1 ELSE 0 END) AS dislikes,
                      max(s) AS seq, max(x.timestamp) AS ts, collect([s, sign >= 0]) AS events
                 RETURN [i.id, best >= 0, dislikes, seq, ts, events] } AS history,
       COLLECT { MATCH (u)-[ii:INTERESTED_IN]->(c:Concept)
                 WHERE coalesce(ii.confidence, 1.0) >= $min_confidence
                 RETURN [c.id, ii.horizon, ii.polarity, ii.weight] } AS interests,
       COLLECT { MATCH (u)-[:INTERACTED]->(o:Item)-[:SAME_WORK]-(i:Item)
                 WHERE NOT EXISTS { (u)-[:INTERACTED]->(i) }
                 WITH i, collect(DISTINCT coalesce(o.title, o.id)) AS owned
                 RETURN [i.id, owned] } AS same_work
