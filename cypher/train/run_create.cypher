// A new training run (not current until its write-back finished). config: JSON string. `ingest`: the last ingest
// number taken when it started (loads and updates stamp what they change with theirs; the writer lease keeps them
// out while it trains), so that what arrived since is known (`kgrec status`).
OPTIONAL MATCH (s:UpdateState {id: 'graph'})
CREATE (r:ModelRun {id: $id, created: datetime(), model: $model, config: $config, metrics: '{}',
                    dataset: $dataset, status: 'running', current: false, ingest: coalesce(s.ingest, 0)})
RETURN r.id AS id
