// Explanation paths from user $user to each item of $items: one round trip for a whole list.
//
// Path kinds (every row is a path MATCHed here, never assembled from separate look-ups):
//   interest / negative_interest:  (u)-[:INTERESTED_IN]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i)
//   liked_item / disliked_item:    (u)-[:INTERACTED]->(j:Item)-[:HAS_KNOWLEDGE]->(c)<-[:HAS_KNOWLEDGE]-(i)
// Every INTERACTED edge counts (serving reads the live graph, whatever the split); mixed interactions (sign 0)
// explain nothing; an edge without `sign` takes it from `rating` as the loader does (>= 4 +1, <= 2 -1, else 0;
// no rating +1).
//
// Path weight (docs/explanations.md):
//   weight = sign * PRODUCT over edges e of  conf(e) * att(e)   [* INTERESTED_IN.weight on interest paths]
//   conf(e) = coalesce(e.confidence, 1), att(e) = coalesce(abs(e.attention), 1),
//   sign = INTERESTED_IN.polarity, or INTERACTED.sign (+1 like / implicit, -1 dislike).
// One row per known item of $items: its best $per_item positive and negative paths (strongest |weight| first).
//
// Params: $user (User.id), $items (list of Item.id), $per_item (int), $max_reach (int).
//
// Bounded memory: the user's side holds at most $max_reach (interaction, concept) rows, the most recent ones
// (a top-k inside the subquery, before anything is collected), so a user with 100k interactions cannot exhaust
// the transaction memory; each item's rows are then bounded by $max_reach plus its own interest paths.
//
// Plan: the user's side of the item paths, (u)-[x]->(j)-[hj]->(c), is matched once per request; each candidate
// item expands only its own few HAS_KNOWLEDGE edges and keeps the user-side rows that end at one of those
// concepts (never the thousands of items behind a popular concept). Rows stay light (entity references and
// the weight) until the best $per_item per item and sign are chosen; only those are turned into maps.
MATCH (u:User {id: $user})
CALL (u) {
  MATCH (u)-[x:INTERACTED]->(j:Item)-[hj:HAS_KNOWLEDGE]->(c:Concept)
  WITH j, hj, c, x, coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1 WHEN x.rating <= 2 THEN -1 ELSE 0 END) AS s
  WHERE s <> 0
  WITH j, hj, c, x, s ORDER BY coalesce(x.timestamp, 0) DESC, coalesce(x.seq, 0) DESC LIMIT $max_reach
  WITH j, hj, c, sign(s) AS s, collect(x) AS xs  // a repeat interaction gives one path, not two
  RETURN collect({x: xs[0], s: s, j: j, hj: hj, c: c}) AS reach
}
UNWIND range(0, size($items) - 1) AS pos
MATCH (i:Item {id: $items[pos]})
OPTIONAL CALL (u, i, reach) {
  MATCH (u)-[ii:INTERESTED_IN]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
  WITH ii, c, hk, CASE WHEN coalesce(ii.polarity, 1) < 0 THEN -1 ELSE 1 END AS sign
  RETURN sign, sign * coalesce(ii.weight, 1.0) * coalesce(ii.confidence, 1.0) * coalesce(abs(ii.attention), 1.0)
                    * coalesce(hk.confidence, 1.0) * coalesce(abs(hk.attention), 1.0) AS weight,
         ii AS first, null AS x, null AS j, null AS hj, c, hk
  UNION ALL
  MATCH (i)-[:HAS_KNOWLEDGE]->(ic:Concept)
  WITH i, reach, collect(ic) AS ics
  UNWIND reach AS r
  WITH i, r WHERE r.c IN ics AND r.j <> i
  WITH i, r.x AS x, r.s AS s, r.j AS j, r.hj AS hj, r.c AS c
  MATCH (c)<-[hk:HAS_KNOWLEDGE]-(i)
  WITH x, j, hj, c, hk, CASE WHEN s < 0 THEN -1 ELSE 1 END AS sign
  RETURN sign, sign * coalesce(x.confidence, 1.0) * coalesce(abs(x.attention), 1.0)
                    * coalesce(hj.confidence, 1.0) * coalesce(abs(hj.attention), 1.0)
                    * coalesce(hk.confidence, 1.0) * coalesce(abs(hk.attention), 1.0) AS weight,
         x AS first, x, j, hj, c, hk
}
WITH pos, i, sign, weight, first, x, j, hj, c, hk
ORDER BY pos, abs(weight) DESC
WITH pos, i, sign, collect({sign: sign, weight: weight, first: first, x: x, j: j, hj: hj, c: c, hk: hk})[0..$per_item] AS best
WITH pos, i, [b IN best WHERE b.first IS NOT NULL | CASE WHEN b.x IS NULL THEN {
    kind: CASE WHEN b.sign < 0 THEN 'negative_interest' ELSE 'interest' END,
    sign: b.sign, weight: b.weight,
    concept: b.c.id, concept_name: coalesce(b.c.name, b.c.id), concept_type: b.c.type,
    via: null, via_title: null, via_kind: null, horizon: b.first.horizon,
    evidence: COLLECT { MATCH (e:Item) WHERE e.id IN coalesce(b.first.evidence, []) RETURN coalesce(e.title, e.id) },
    rels: [elementId(b.first), elementId(b.hk)],
    edges: [
      {type: 'INTERESTED_IN', weight: b.first.weight, confidence: b.first.confidence, attention: b.first.attention,
       polarity: b.first.polarity, horizon: b.first.horizon},
      {type: 'HAS_KNOWLEDGE', confidence: b.hk.confidence, support: b.hk.support, attention: b.hk.attention}
    ]
  } ELSE {
    kind: CASE WHEN b.sign < 0 THEN 'disliked_item' ELSE 'liked_item' END,
    sign: b.sign, weight: b.weight,
    concept: b.c.id, concept_name: coalesce(b.c.name, b.c.id), concept_type: b.c.type,
    via: b.j.id, via_title: coalesce(b.j.title, b.j.id), via_kind: b.x.kind, horizon: null,
    evidence: [],
    rels: [elementId(b.x), elementId(b.hj), elementId(b.hk)],
    edges: [
      {type: 'INTERACTED', kind: b.x.kind, sign: b.x.sign, rating: b.x.rating, confidence: b.x.confidence,
       attention: b.x.attention, split: b.x.split},
      {type: 'HAS_KNOWLEDGE', confidence: b.hj.confidence, support: b.hj.support, attention: b.hj.attention},
      {type: 'HAS_KNOWLEDGE', confidence: b.hk.confidence, support: b.hk.support, attention: b.hk.attention}
    ]
  } END] AS paths
WITH pos, i, collect(paths) AS by_sign  // one list per sign (an item without paths: one empty list)
WITH pos, i, reduce(acc = [], ps IN by_sign | acc + ps) AS ps
RETURN pos, i.id AS item, coalesce(i.title, i.id) AS title,
       [p IN ps WHERE p.sign > 0] AS positive,
       [p IN ps WHERE p.sign < 0] AS negative
ORDER BY pos
