// Start an update run that covers every change up to ingest number $ingest; $items are the items it extracts
// (recorded first, so that a resumed run still knows them after they were extracted), $users_changed the users whose
// interactions changed, counted before any step (the knowledge and classify steps stamp some of them again with
// $ingest: a resumed run reports this count, not one taken after them).
CREATE (r:UpdateRun {id: $id, status: 'running', started: datetime(), ingest: $ingest, previous: $previous,
                     items: $items, users_changed: $users_changed, steps: []})
RETURN toString(r.started) AS started
