// Update run $id is complete: everything up to ingest number $ingest is classified, has its interests and is
// up to date.
MATCH (r:UpdateRun {id: $id})
SET r.status = 'complete', r.finished = datetime(), r.summary = $summary
WITH r
MERGE (s:UpdateState {id: 'graph'})
SET s.updated_upto = CASE WHEN coalesce(s.updated_upto, 0) > $ingest THEN s.updated_upto ELSE $ingest END,
    s.classified_upto = CASE WHEN coalesce(s.classified_upto, 0) > $ingest THEN s.classified_upto ELSE $ingest END,
    s.interests_upto = CASE WHEN coalesce(s.interests_upto, 0) > $ingest THEN s.interests_upto ELSE $ingest END,
    s.last_update = $id
