// SAME_WORK links found from titles earlier that the current titles no longer support are removed.
// Parameters: $keep (list of "a|b" strings: the pairs written in the same transaction).
MATCH (a:Item)-[r:SAME_WORK {method: 'title'}]->(b:Item)
WHERE NOT (a.id + '|' + b.id) IN $keep
DELETE r
RETURN count(*) AS removed
