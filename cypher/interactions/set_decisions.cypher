// Write the decision for one edge (keyed by user and seq): final kind and sign, what decided it, the text
// verdict next to the rating, and the combined confidence (kgrec_neo4j/users/confidence.py). A text $classifier
// failed on keeps the reason (row.text_error: bounded, the endpoint's secrets hidden) in text_error, with
// text_error_by and text_failed_at, until a classification of it succeeds (row.text_error null removes them).
UNWIND $rows AS row
MATCH (:User {id: row.user})-[e:INTERACTED {seq: row.seq}]->(:Item)
SET e.kind = row.kind,
    e.sign = row.sign,
    e.kind_source = row.kind_source,
    e.confidence = row.confidence,
    e.kind_text = row.kind_text,
    e.text_confidence = row.text_confidence,
    e.text_agrees = row.text_agrees,
    e.text_error = row.text_error,
    e.text_error_by = CASE WHEN row.text_error IS NULL THEN null ELSE $classifier END,
    e.text_failed_at = CASE WHEN row.text_error IS NULL THEN null ELSE datetime() END
