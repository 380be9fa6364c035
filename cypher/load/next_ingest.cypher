// Allocate the next ingest number: every load that changes something (fresh, append or reload) stamps what it
// changed with it, and `kgrec update` works through the stamps above the last number it completed (docs/updates.md).
MERGE (s:UpdateState {id: 'graph'})
SET s.ingest = coalesce(s.ingest, 0) + 1
RETURN s.ingest AS ingest
