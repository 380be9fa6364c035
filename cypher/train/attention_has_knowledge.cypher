// Stage-2 attention of one batch of HAS_KNOWLEDGE edges, matched by (item id, concept id).
// row: {source: item id, target: concept id, attention: |a|, signed: a}
UNWIND $rows AS row
MATCH (:Item {id: row.source})-[r:HAS_KNOWLEDGE]->(:Concept {id: row.target})
SET r.attention = row.attention, r.attention_signed = row.signed, r.attention_run = $run
RETURN count(r) AS written
