// The knowledge types of the mentions other than the Graph-RAG interests' own (Mention.origin 'interest', pending,
// that no item mentions): those `kgrec concepts build` gives a vocabulary, which a Graph-RAG run needs. An interest's
// pending mention alone asks none of its type.
// Parameters: none.
MATCH (m:Mention)
WHERE m.origin IS NULL OR EXISTS { (:Item)-[:MENTIONS]->(m) }
RETURN DISTINCT m.type AS type
