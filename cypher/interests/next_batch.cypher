// Graph-RAG retrieval 1: for each user, the next $batch TRAIN interactions after the user's progress
// marker (User.interests_llm_upto, -1 = none yet), in seq order, each with its item subgraph: the item's
// concepts and their knowledge types (HAS_KNOWLEDGE at or above $min_confidence). Only split = 'train'
// is read unless $every_split (interests for serving), so in evaluation nothing from valid or test interactions can
// reach the prompt. Users in $fresh (a restart whose
// first batch is not written yet) start from the beginning, whatever their marker.
// Params: $users, $fresh (lists of User.id), $batch (int), $min_confidence (float), $every_split (bool).
UNWIND $users AS uid
MATCH (u:User {id: uid})
WITH u, CASE WHEN uid IN $fresh THEN -1 ELSE coalesce(u.interests_llm_upto, -1) END AS upto
CALL (u, upto) {
  MATCH (u)-[e:INTERACTED]->(i:Item)
  WHERE (coalesce(e.split, 'train') = 'train' OR $every_split) AND toIntegerOrNull(e.seq) > upto AND coalesce(e.confidence, 1.0) >= $min_confidence
  WITH e, i ORDER BY toIntegerOrNull(e.seq) LIMIT $batch
  RETURN collect({
    seq: toIntegerOrNull(e.seq), item: i.id, title: i.title, kind: e.kind, rating: e.rating,
    review: CASE WHEN e.review_title IS NULL AND e.review_text IS NULL THEN null
                 ELSE trim(coalesce(e.review_title, '') + '. ' + coalesce(e.review_text, '')) END,
    concepts: [(i)-[h:HAS_KNOWLEDGE]->(c:Concept) WHERE coalesce(h.confidence, 1.0) >= $min_confidence
               | {name: c.name, type: c.type, confidence: h.confidence}]
  }) AS items
}
RETURN u.id AS user, upto, items
