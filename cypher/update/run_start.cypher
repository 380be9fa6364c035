// Start an update run that covers every change up to ingest number $ingest; $items are the items it extracts
// (recorded first, so that a resumed run still knows them after they were extracted).
CREATE (r:UpdateRun {id: $id, status: 'running', started: datetime(), ingest: $ingest, previous: $previous,
                     items: $items, steps: []})
RETURN toString(r.started) AS started
