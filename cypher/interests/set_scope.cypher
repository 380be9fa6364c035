// Record which interactions $extractor's interest edges read ($scope: 'train', 'every' or 'switching:<target>').
MERGE (s:UpdateState {id: 'graph'})
SET s.interests_scope_offline = CASE WHEN $extractor = 'offline' THEN $scope ELSE s.interests_scope_offline END,
    s.interests_scope_llm = CASE WHEN $extractor = 'llm' THEN $scope ELSE s.interests_scope_llm END
