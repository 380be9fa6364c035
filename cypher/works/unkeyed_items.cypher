// Whether some titled item other than $ids has no stored work key (then SAME_WORK links are found over the whole
// catalogue; the items of $ids are the ones being keyed now).
// Parameters: $ids (item ids).
MATCH (i:Item) WHERE i.title IS NOT NULL AND i.work_key IS NULL AND NOT i.id IN $ids
RETURN count(i) > 0 AS any
