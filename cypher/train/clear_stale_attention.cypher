// Remove, one batch at a time, edge attention not written by run $run (call until 0). $datasets (null = all):
// only edges that start at a user or item of these datasets (another dataset's attention is left alone).
MATCH (a)-[r:HAS_KNOWLEDGE|INTERESTED_IN|INTERACTED]->()
WHERE r.attention IS NOT NULL AND coalesce(r.attention_run, '') <> $run
  AND ($datasets IS NULL OR a.dataset IN $datasets)
WITH r LIMIT $limit
REMOVE r.attention, r.attention_signed, r.attention_run
RETURN count(r) AS cleared
