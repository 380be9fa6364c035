// Which interactions each interest extractor's edges read: 'train' (evaluation, the default when none is stored),
// 'every' (serving: every split), or 'switching:<target>' (a run that changes it has not finished); and whether the
// extractor has state to mix (its edges; for the LLM also its progress markers and pending interest mentions).
OPTIONAL MATCH (s:UpdateState {id: 'graph'})
RETURN coalesce(s.interests_scope_offline, 'train') AS offline, coalesce(s.interests_scope_llm, 'train') AS llm,
       EXISTS { ()-[:INTERESTED_IN {extractor: 'offline'}]->() } AS offline_state,
       EXISTS { ()-[:INTERESTED_IN {extractor: 'llm'}]->() }
         OR EXISTS { (:User)-[:INTEREST_MENTION {extractor: 'llm'}]->() }
         OR EXISTS { MATCH (u:User) WHERE u.interests_llm_upto IS NOT NULL } AS llm_state,
       EXISTS { ()-[:INTERESTED_IN]->() } AS any_edges
