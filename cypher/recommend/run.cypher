// What scoring needs of run $run besides the vectors: its fold-in parameters (JSON), the export's confidence
// floor, the item graph's part of the score, its version (bumped when `kgrec update` folds items into it) and its
// configuration (JSON: the mode it was trained in) and metrics (JSON: the recency decays chosen on valid); the
// database's knowledge-type pack (its words for the domain, e.g. how an interaction without a rating reads).
// `was_current`: the run was made current once (cypher/train/run_set_current), so its vectors were in the graph.
MATCH (r:ModelRun {id: $run})
OPTIONAL MATCH (s:SchemaInfo {id: 'schema'})
RETURN r.id AS run, r.foldin AS foldin, coalesce(r.min_confidence, 0.0) AS min_confidence,
       coalesce(r.item_link_weight, 0.0) AS link_weight, coalesce(r.item_link_dislike_value, 1.0) AS dislike_value,
       coalesce(r.item_link_count, 0) AS link_count,
       r.item_link_top_k AS link_top_k, coalesce(r.version, 0) AS version, r.config AS config,
       r.metrics AS metrics, s.pack AS pack, s.pack_file AS pack_file,
       r.stale_cleared IS NOT NULL AS was_current, r.model AS model
