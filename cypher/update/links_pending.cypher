// Whether run $run has borrowed item links written that serving has not been told of: the mark a fold-in sets before
// it writes links (cypher/update/links_mark.cypher), cleared by the run's next version (cypher/update/run_version.cypher).
// A fold-in cut between its link writes and the new version leaves the mark, so the resumed one bumps the version even
// when it finds every link already as it should be.
// Params: $run.
MATCH (r:ModelRun {id: $run})
RETURN coalesce(r.links_pending, false) AS pending
