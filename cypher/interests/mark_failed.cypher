// Users whose Graph-RAG interest request failed in this round: the reason is kept on the user (bounded, the
// endpoint's secrets hidden: kgrec_neo4j.core.config.stored_error). Nothing else of the user changes: its edges,
// pending mentions and progress marker stay as the last written batch left them, and a rerun goes on from there.
// The next batch of the user written by $extractor removes the reason (write_llm_state), as does a reset. A user whose
// restart failed before its first batch was written (row.restart) is marked so that the next run, with --restart or
// not, restarts it (interests/restarts_pending); otherwise it would go on from its earlier marker and keep the state
// the restart was meant to replace.
// Params: $rows ([{user, error, restart}]), $extractor.
UNWIND $rows AS row
MATCH (u:User {id: row.user})
SET u.interests_error = row.error, u.interests_error_by = $extractor, u.interests_failed_at = datetime(),
    u.interests_restart_pending = CASE WHEN row.restart THEN true ELSE null END
