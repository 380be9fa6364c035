// The last ingest number taken (null before the first load).
MATCH (s:UpdateState {id: 'graph'})
RETURN s.ingest AS ingest
