// Store each item's work key and the title it was read from ('' : no work name).
// Parameters: $rows ([{id, key, title}]).
UNWIND $rows AS row
MATCH (i:Item {id: row.id})
SET i.work_key = row.key, i.work_title = row.title
