// SAME_WORK links found from titles earlier that the current titles no longer support are removed.
// Parameters: $keep (list of "a|b" strings: the pairs written in the same transaction), $scope (item ids whose
// links were found again; null: every item).
MATCH (a:Item)-[r:SAME_WORK {method: 'title'}]->(b:Item)
WHERE ($scope IS NULL OR a.id IN $scope OR b.id IN $scope) AND NOT (a.id + '|' + b.id) IN $keep
DELETE r
RETURN count(*) AS removed
