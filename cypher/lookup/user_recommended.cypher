// When a user's stored recommendations (RECOMMENDED edges) were written, by which run, and how many of the user's
// interactions are newer than them: those after the highest seq the user had then, or, when the user has more
// interactions than then (an edge without seq, e.g. typed in Browser), the difference, whichever is larger.
// `newer` is null for edges written before the history was recorded with them. No row: nothing stored.
// Parameters: $user
MATCH (u:User {id: $user})-[r:RECOMMENDED]->(:Item)
WITH u, r ORDER BY r.rank LIMIT 1
WITH u, r, COUNT { (u)-[:INTERACTED]->(:Item) } AS now,
     COUNT { (u)-[x:INTERACTED]->(:Item) WHERE x.seq > r.last_seq OR (r.last_seq IS NULL AND x.seq IS NOT NULL) } AS after
RETURN r.run AS run,
       CASE WHEN r.created IS NULL THEN null ELSE toString(datetime.truncate('second', r.created)) END AS stored_at,
       CASE WHEN r.history IS NULL THEN null
            WHEN now - r.history > after THEN now - r.history ELSE after END AS newer
