// Whether some titled item has no stored work key (then SAME_WORK links are found over the whole catalogue).
MATCH (i:Item) WHERE i.title IS NOT NULL AND i.work_key IS NULL
RETURN count(i) > 0 AS any
