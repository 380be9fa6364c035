// Where updates stand: the last ingest number (taken by loads and updates), the numbers up to which the last
// completed update, classification and interests saw every change, and the update run left `running` by a process
// that ended without finishing (resumed), if any.
OPTIONAL MATCH (s:UpdateState {id: 'graph'})
OPTIONAL MATCH (r:UpdateRun {status: 'running'})
WITH s, r ORDER BY r.started DESC LIMIT 1
RETURN coalesce(s.ingest, 0) AS ingest, coalesce(s.updated_upto, 0) AS updated_upto,
       coalesce(s.classified_upto, 0) AS classified_upto, coalesce(s.interests_upto, 0) AS interests_upto,
       CASE WHEN r IS NULL THEN null
            ELSE {id: r.id, ingest: r.ingest, started: toString(r.started), items: r.items, steps: r.steps,
                  report: r.report, users_changed: r.users_changed} END
         AS running
