// Stage-2 attention of one batch of train INTERACTED edges, matched by (user id, item id, seq).
// row: {source: user id, target: item id, seq, attention: |a|, signed: a}
// $all_interactions: a serving run trained on every edge, whatever its split, and attended over all of them.
UNWIND $rows AS row
MATCH (:User {id: row.source})-[r:INTERACTED {seq: row.seq}]->(:Item {id: row.target})
WHERE $all_interactions OR coalesce(r.split, 'train') = 'train'
SET r.attention = row.attention, r.attention_signed = row.signed, r.attention_run = $run
RETURN count(r) AS written
