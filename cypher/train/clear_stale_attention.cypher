// Remove, one batch at a time, edge attention not written by run $run (call until 0).
MATCH ()-[r:HAS_KNOWLEDGE|INTERESTED_IN|INTERACTED]->()
WHERE r.attention IS NOT NULL AND coalesce(r.attention_run, '') <> $run
WITH r LIMIT $limit
REMOVE r.attention, r.attention_signed, r.attention_run
RETURN count(r) AS cleared
