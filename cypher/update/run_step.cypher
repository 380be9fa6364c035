// One step of update run $id is done; $summary (JSON) says what it did.
MATCH (r:UpdateRun {id: $id})
SET r.steps = [s IN coalesce(r.steps, []) WHERE s <> $step] + $step,
    r.summaries = coalesce(r.summaries, '') + $summary + '\n'
