// After run $run became current: remove, one batch at a time, item links of any other run (call until 0).
// $datasets (null = all): only links from items of these datasets.
MATCH (a:Item)-[l:ITEM_LINK]->()
WHERE l.run <> $run AND ($datasets IS NULL OR a.dataset IN $datasets)
WITH l LIMIT $limit
DELETE l
RETURN count(*) AS cleared
