// Stage-2 attention of one batch of train INTERACTED edges, matched by (user id, item id, seq).
// row: {source: user id, target: item id, seq, attention: |a|, signed: a}
UNWIND $rows AS row
MATCH (:User {id: row.source})-[r:INTERACTED {seq: row.seq}]->(:Item {id: row.target})
WHERE r.split = 'train'
SET r.attention = row.attention, r.attention_signed = row.signed, r.attention_run = $run
RETURN count(r) AS written
