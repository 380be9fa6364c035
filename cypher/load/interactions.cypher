// One INTERACTED edge per interaction, keyed by the user's seq (a repeat purchase is a second edge).
// kind/sign are the rating baseline; `kgrec interactions classify` refines them later, so they are
// only set when the edge is new or still carries the baseline.
UNWIND $rows AS row
MATCH (u:User {id: row.user})
MATCH (i:Item {id: row.item})
MERGE (u)-[e:INTERACTED {seq: row.seq}]->(i)
SET e.rating = row.rating,
    e.timestamp = row.timestamp,
    e.review_title = row.review_title,
    e.review_text = row.review_text,
    e.split = row.split
WITH e, row WHERE e.kind_source IS NULL OR e.kind_source = 'rating'
SET e.kind = row.kind, e.sign = row.sign, e.kind_source = 'rating'
