// Project the TRAIN graph into GDS with one Cypher aggregation (gds.graph.project), so that only
// train interactions can ever reach the model: `split = 'train'` is enforced here, inside the projection
// (evaluation mode). In serving mode ($all_interactions) every INTERACTED edge is a train edge, whatever its split.
// Nodes: every User, Item and Concept (isolated ones too: each gets an embedding at write-back).
// Relationships (all numeric properties; edges without `confidence` count as 1.0):
//   INTERACTED    {sign (+1/0/-1), weight, seq, confidence}   train split only (unless $all_interactions),
//                 seq NaN for an edge without one (the export makes it the user's latest, as serving does),
//                 confidence >= $min_confidence; an edge without `sign` takes it from `rating` as the loader does
//   HAS_KNOWLEDGE {type (index in $types), confidence}        confidence >= $min_confidence
//   INTERESTED_IN {horizon (0 long, 1 short), polarity (+1/-1), weight, confidence}  confidence >= $min_confidence,
//                 with the values an extractor writes (horizon long/short, polarity +1/-1, weight in (0, 1])
// $dataset (or null) keeps the users and items of one dataset.
CALL () {
  MATCH (u:User) WHERE $dataset IS NULL OR u.dataset = $dataset
  RETURN u AS source, 'User' AS source_label, null AS target, null AS target_label, null AS rel_type, null AS props
  UNION ALL
  MATCH (i:Item) WHERE $dataset IS NULL OR i.dataset = $dataset
  RETURN i AS source, 'Item' AS source_label, null AS target, null AS target_label, null AS rel_type, null AS props
  UNION ALL
  MATCH (c:Concept)
  RETURN c AS source, 'Concept' AS source_label, null AS target, null AS target_label, null AS rel_type, null AS props
  UNION ALL
  MATCH (u:User)-[r:INTERACTED]->(i:Item)
  WHERE ($all_interactions OR coalesce(r.split, 'train') = 'train') AND coalesce(r.confidence, 1.0) >= $min_confidence
    AND ($dataset IS NULL OR (u.dataset = $dataset AND i.dataset = $dataset))
  RETURN u AS source, 'User' AS source_label, i AS target, 'Item' AS target_label, 'INTERACTED' AS rel_type,
         {sign: toFloat(sign(coalesce(r.sign, CASE WHEN r.rating IS NULL OR r.rating >= 4 THEN 1
                                                   WHEN r.rating <= 2 THEN -1 ELSE 0 END))),
          weight: toFloat(coalesce(r.weight, 1.0)), seq: CASE WHEN r.seq IS NULL THEN 0.0 / 0.0 ELSE toFloat(r.seq) END,
          confidence: toFloat(coalesce(r.confidence, 1.0))} AS props
  UNION ALL
  MATCH (i:Item)-[r:HAS_KNOWLEDGE]->(c:Concept)
  WHERE coalesce(r.confidence, 1.0) >= $min_confidence AND ($dataset IS NULL OR i.dataset = $dataset)
  RETURN i AS source, 'Item' AS source_label, c AS target, 'Concept' AS target_label, 'HAS_KNOWLEDGE' AS rel_type,
         {type: toFloat(coalesce($type_index[c.type], -1)), confidence: toFloat(coalesce(r.confidence, 1.0))} AS props
  UNION ALL
  MATCH (u:User)-[r:INTERESTED_IN]->(c:Concept)
  WHERE coalesce(r.confidence, 1.0) >= $min_confidence AND ($dataset IS NULL OR u.dataset = $dataset)
    // the values the extractors write (kgrec_neo4j/model/foldin.py, valid_interest): an edge edited by hand outside
    // them is left out, as serving leaves it out (a weight of -3 beside positive ones divided a user's row by ~0)
    AND r.horizon IN ['long', 'short'] AND r.polarity IN [1, -1] AND r.weight > 0 AND r.weight <= 1
  RETURN u AS source, 'User' AS source_label, c AS target, 'Concept' AS target_label, 'INTERESTED_IN' AS rel_type,
         {horizon: CASE r.horizon WHEN 'short' THEN 1.0 ELSE 0.0 END, polarity: toFloat(r.polarity),
          weight: toFloat(r.weight), confidence: toFloat(coalesce(r.confidence, 1.0))} AS props
}
WITH gds.graph.project($graph_name, source, target, {
  sourceNodeLabels: source_label,
  targetNodeLabels: target_label,
  sourceNodeProperties: CASE WHEN target IS NULL THEN {kgrec_node: 1.0} ELSE null END,
  targetNodeProperties: null,
  relationshipType: rel_type,
  relationshipProperties: props
}) AS g
RETURN g.graphName AS graph, g.nodeCount AS nodes, g.relationshipCount AS relationships
