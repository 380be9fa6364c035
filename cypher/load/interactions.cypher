// One INTERACTED edge per interaction, keyed by the user's seq (a repeat purchase is a second edge). Only new or
// changed interactions are written: kind/sign get the rating baseline again (`kgrec interactions classify`, or
// `kgrec update`, refines them), earlier verdicts are removed (and the reason a failed classification of the text left,
// text_error), and the edge is stamped with the load's $ingest (an edge the service recorded, rewritten from a file,
// is the file's now: it loses `recorded`).
UNWIND $rows AS row
MATCH (u:User {id: row.user})
MATCH (i:Item {id: row.item})
MERGE (u)-[e:INTERACTED {seq: row.seq}]->(i)
SET e.rating = row.rating,
    e.timestamp = row.timestamp,
    e.review_title = row.review_title,
    e.review_text = row.review_text,
    e.split = row.split,
    e.kind = row.kind, e.sign = row.sign, e.kind_source = 'rating',
    e.ingest = $ingest
REMOVE e.kind_text, e.text_confidence, e.text_agrees, e.confidence, e.text_error, e.text_error_by, e.text_failed_at,
       e.recorded
