// Stage-2 attention of one batch of INTERESTED_IN edges, matched by (user id, concept id, horizon, polarity)
// with horizon / polarity normalised exactly as in project.cypher (0 long / 1 short, +1 / -1).
// row: {source: user id, target: concept id, horizon, polarity, attention: |a|, signed: a}
UNWIND $rows AS row
MATCH (:User {id: row.source})-[r:INTERESTED_IN]->(:Concept {id: row.target})
WHERE CASE WHEN toLower(toString(r.horizon)) IN ['short', '1', 'short-term', 'short_term'] THEN 1 ELSE 0 END = row.horizon
  AND CASE WHEN toString(r.polarity) IN ['-1', '-1.0', 'negative', 'neg'] OR r.polarity < 0 THEN -1 ELSE 1 END = row.polarity
SET r.attention = row.attention, r.attention_signed = row.signed, r.attention_run = $run
RETURN count(r) AS written
