// Write the decision for one edge (keyed by user and seq): final kind and sign, what decided it, the text
// verdict next to the rating, and the combined confidence (kgrec_neo4j/users/confidence.py).
UNWIND $rows AS row
MATCH (:User {id: row.user})-[e:INTERACTED {seq: row.seq}]->(:Item)
SET e.kind = row.kind,
    e.sign = row.sign,
    e.kind_source = row.kind_source,
    e.confidence = row.confidence,
    e.kind_text = row.kind_text,
    e.text_confidence = row.text_confidence,
    e.text_agrees = row.text_agrees
