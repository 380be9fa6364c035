// One step of update run $id is done; $summary (JSON) says what it did, $report (JSON) the update's report so far
// (what a resumed update reports for the steps it does not repeat).
MATCH (r:UpdateRun {id: $id})
SET r.steps = [s IN coalesce(r.steps, []) WHERE s <> $step] + $step,
    r.summaries = coalesce(r.summaries, '') + $summary + '\n',
    r.report = $report
