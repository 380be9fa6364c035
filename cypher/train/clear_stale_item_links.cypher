// After run $run became current: remove, one batch at a time, item links of any other run (call until 0).
MATCH ()-[l:ITEM_LINK]->()
WHERE l.run <> $run
WITH l LIMIT $limit
DELETE l
RETURN count(*) AS cleared
