// Candidate concepts of each row's own type through the vector index. The index holds every type, so
// $k candidates are fetched and filtered to the row's type; `lowest` (the k-th score) tells the caller
// whether a larger k could still find a same-type concept above the threshold. Rows travel as parallel
// lists and vectors as comma-separated text: far cheaper for the Python driver than lists of maps of floats.
// Neo4j's cosine score is (1 + cos) / 2 and comes from a quantised index: the caller re-scores the
// candidates exactly.
UNWIND range(0, size($vecs) - 1) AS i
CALL db.index.vector.queryNodes('concept_embedding', $k, [x IN split($vecs[i], ',') | toFloat(x)])
  YIELD node, score
WITH i, collect(CASE WHEN node.type = $types[i] THEN [node.id, score] END) AS cands,
     min(score) AS lowest, count(*) AS n
RETURN i, cands[0..$keep] AS cands, lowest, n
