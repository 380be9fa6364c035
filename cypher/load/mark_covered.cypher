// A stage has seen every change up to ingest number $ingest: raise UpdateState's $field (classified_upto,
// interests_upto or updated_upto) to $ingest, never lowering it.
MERGE (s:UpdateState {id: 'graph'})
SET s.classified_upto = CASE WHEN $field = 'classified_upto' AND coalesce(s.classified_upto, 0) < $ingest
                             THEN $ingest ELSE s.classified_upto END,
    s.interests_upto = CASE WHEN $field = 'interests_upto' AND coalesce(s.interests_upto, 0) < $ingest
                            THEN $ingest ELSE s.interests_upto END,
    s.updated_upto = CASE WHEN $field = 'updated_upto' AND coalesce(s.updated_upto, 0) < $ingest
                          THEN $ingest ELSE s.updated_upto END
