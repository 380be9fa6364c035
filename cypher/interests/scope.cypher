// Which interactions each interest extractor's edges read: 'train' (evaluation, the default when none is stored),
// 'every' (serving: every split), or 'switching' (a run that changes it has not finished).
OPTIONAL MATCH (s:UpdateState {id: 'graph'})
RETURN coalesce(s.interests_scope_offline, 'train') AS offline, coalesce(s.interests_scope_llm, 'train') AS llm,
       COUNT { ()-[:INTERESTED_IN {extractor: 'offline'}]->() } AS offline_edges,
       COUNT { ()-[:INTERESTED_IN {extractor: 'llm'}]->() } AS llm_edges
