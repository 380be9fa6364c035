// A new training run (not current until its write-back finished). config: JSON string.
CREATE (r:ModelRun {id: $id, created: datetime(), model: $model, config: $config, metrics: '{}',
                    dataset: $dataset, status: 'running', current: false})
RETURN r.id AS id
