// The knowledge types that have mentions anywhere in the graph (a type may be absent from the build sample).
// Parameters: none.
MATCH (m:Mention)
RETURN DISTINCT m.type AS type
