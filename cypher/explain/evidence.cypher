// The stored paths that can explain user $user's score of each item of $items, in one round trip
// (docs/explanations.md). The score splits into one share per neighbour of the user (each interacted item,
// each interest concept, the user's own embedding); this query returns what the graph holds about each of them:
//   history:   every item the user interacted with (whatever its split): [id, title, kinds of its interactions,
//              signs of its interactions (an edge without `sign` takes it from `rating` as the loader does),
//              element id of one of its INTERACTED edges]
//   interests: every INTERESTED_IN edge: [concept id, name, horizon, polarity, weight, confidence, element id]
//   items:     per item of $items (found in the graph), in input order:
//     links:   (u)-[x:INTERACTED]->(j)-[l:ITEM_LINK {run: $run}]->(i), one per j (every one: their weights
//              make the item graph's part of the score)
//     shared:  (u)-[x:INTERACTED]->(j)-[hj:HAS_KNOWLEDGE]->(c)<-[hk:HAS_KNOWLEDGE]-(i), j <> i, per j the
//              $per_via most specific concepts (fewest items), ties by name
//     family:  per j that shares no concept with i (j <> i), the $per_via closest family paths
//              (u)-[x:INTERACTED]->(j)-[hj:HAS_KNOWLEDGE]->(c) ~ (ci)<-[hk:HAS_KNOWLEDGE]-(i), c ~ ci one of
//                narrower: (c)<-[b:BROADER]-(ci)   i's concept is narrower than j's ("Xbox" <- "Xbox One")
//                broader:  (c)-[b:BROADER]->(ci)   i's concept is broader than j's ("Xbox 360" -> "Xbox")
//                sibling:  (c)-[b1:BROADER]->(p)<-[b2:BROADER]-(ci), ci <> c (both of the family p)
//              one-step relations first, then by the items of c and ci (fewest: most specific), ties by name
//     has:     (u)-[ii:INTERESTED_IN]->(c)<-[hk:HAS_KNOWLEDGE]-(i), one per interest concept the item has
//     fam_has: per interest concept c the item does NOT have, the $per_via family paths
//              (u)-[ii:INTERESTED_IN]->(c)<-[b:BROADER]-(ci)<-[hk:HAS_KNOWLEDGE]-(i) (narrower: the item has a
//              narrower value of the interest) or (u)-[ii]->(c)-[b:BROADER]->(ci)<-[hk]-(i) (broader), narrower
//              first, then by the items of ci
//              (both without ii: a concept the user holds both ways has two, and the caller starts the path at
//              the one its reason is named after, from `interests`)
// BROADER edges join concepts of one type (concepts/families.py); the query checks it again.
// An edge without a kind (written by `kgrec serve --writes` or another client, not classified yet) gets the loader's
// baseline kind from its rating, as its sign does: no rating is 'implicit' ("you bought"), not a like.
// Each path carries the element ids of its relationships in path order (to re-MATCH it: explain/verify_paths).
// Bounded memory: the user's side holds at most $max_reach interactions, $max_reach (interaction, concept) rows and
// $max_reach (interaction, concept, family concept) rows, the most recent ones, so a user with 100k interactions
// cannot exhaust the transaction memory (an older item keeps its share; its name then comes from the run and its
// verb is "interacted with"). Only the history is sorted (ORDER BY); every later step keeps its order (LIMIT on the
// stream) or sorts a collected list (apoc.coll.sortMulti): a sorted row holds every list collected before it (the
// history, the reach), so sorting rows there cost rows x history and a 490-rating user needed 1.4 GiB.
// Params: $user (User.id), $items (list of Item.id), $run (ModelRun.id), $per_via (int >= 1), $max_reach (int).
MATCH (u:User {id: $user})
CALL (u) {
  MATCH (u)-[x:INTERACTED]->(j:Item)
  WITH j, x ORDER BY coalesce(x.timestamp, 0) DESC, coalesce(x.seq, 0) DESC LIMIT $max_reach
  WITH j, collect(x) AS xs
  WITH j, xs ORDER BY coalesce(xs[0].timestamp, 0) DESC, coalesce(xs[0].seq, 0) DESC
  RETURN collect({j: j, x: xs[0],
                  kinds: [e IN xs | coalesce(e.kind, CASE WHEN e.rating IS NULL THEN 'implicit'
                                                          WHEN e.rating >= 4 THEN 'like' WHEN e.rating <= 2
                                                          THEN 'dislike' ELSE 'mixed' END)],
                  signs: [e IN xs | coalesce(e.sign, CASE WHEN e.rating IS NULL OR e.rating >= 4 THEN 1
                                                          WHEN e.rating <= 2 THEN -1 ELSE 0 END)]}) AS mine
}
CALL (u, mine) {
  UNWIND mine AS m
  WITH m.j AS j, m.x AS x
  MATCH (j)-[hj:HAS_KNOWLEDGE]->(c:Concept)
  WITH x, j, hj, c LIMIT $max_reach
  RETURN collect({x: x, j: j, hj: hj, c: c, n: COUNT { (c)<-[:HAS_KNOWLEDGE]-() }}) AS reach
}
CALL (reach) {
  UNWIND reach AS r
  WITH r, r.c AS c
  CALL (c) {
    MATCH (c)<-[b:BROADER]-(o:Concept)
    RETURN o, 'narrower' AS family, 1 AS step, null AS p, [elementId(b)] AS brels
    UNION ALL
    MATCH (c)-[b:BROADER]->(o:Concept)
    RETURN o, 'broader' AS family, 1 AS step, null AS p, [elementId(b)] AS brels
    UNION ALL
    MATCH (c)-[b1:BROADER]->(p:Concept)<-[b2:BROADER]-(o:Concept)
    WHERE o <> c
    RETURN o, 'sibling' AS family, 2 AS step, p, [elementId(b1), elementId(b2)] AS brels
  }
  WITH r, c, o, family, step, p, brels
  WHERE o.type = c.type AND (p IS NULL OR p.type = c.type)
  WITH r, o, family, step, p, brels LIMIT $max_reach
  RETURN collect({x: r.x, j: r.j, hj: r.hj, c: r.c, n: r.n, o: o, no: COUNT { (o)<-[:HAS_KNOWLEDGE]-() },
                  family: family, step: step, p: p, brels: brels}) AS kin
}
UNWIND range(0, size($items) - 1) AS pos
MATCH (i:Item {id: $items[pos]})
CALL (u, i) {
  OPTIONAL MATCH (u)-[x:INTERACTED]->(j:Item)-[l:ITEM_LINK]->(i)
  WHERE l.run = $run
  WITH j, l, collect(x)[0] AS x
  RETURN collect({via: j.id, weight: l.weight, borrowed: coalesce(l.borrowed, false),
                  neighbour: coalesce(l.neighbour, false), from_new: coalesce(l.from_new, false),
                  rels: [elementId(x), elementId(l)]}) AS links
}
CALL (i) {
  OPTIONAL MATCH (i)-[hk:HAS_KNOWLEDGE]->(ic:Concept)
  RETURN collect({c: ic, hk: hk}) AS own
}
CALL (i, reach, own) {
  UNWIND reach AS r
  WITH r, [m IN own WHERE m.c = r.c][0] AS hit
  WHERE hit IS NOT NULL AND r.j <> i
  WITH r.j AS j, collect({concept: r.c.id, name: coalesce(r.c.name, r.c.id), type: r.c.type, items: r.n,
                          rels: [elementId(r.x), elementId(r.hj), elementId(hit.hk)]}) AS cs
  RETURN collect({via: j.id, concepts: apoc.coll.sortMulti(cs, ['^items', '^name', '^concept'])[0..$per_via]}) AS shared
}
CALL (i, kin, own, shared) {
  WITH i, kin, own, [s IN shared | s.via] AS sharing
  UNWIND kin AS r
  WITH r, [m IN own WHERE m.c = r.o][0] AS hit
  WHERE hit IS NOT NULL AND r.j <> i AND NOT r.j.id IN sharing
  WITH r.j AS j, collect({concept: r.c.id, name: coalesce(r.c.name, r.c.id), type: r.c.type, items: r.n,
                          family: r.family, item_concept: r.o.id, item_concept_name: coalesce(r.o.name, r.o.id),
                          item_concept_items: r.no, parent: r.p.id, parent_name: coalesce(r.p.name, r.p.id),
                          step: r.step, both: r.n + r.no,
                          rels: [elementId(r.x), elementId(r.hj)] + r.brels + [elementId(hit.hk)]}) AS fs
  RETURN collect({via: j.id, paths: apoc.coll.sortMulti(fs, ['^step', '^both', '^name', '^item_concept_name',
                                                             '^concept', '^item_concept'])[0..$per_via]}) AS family
}
CALL (u, i) {
  OPTIONAL MATCH (u)-[:INTERESTED_IN]->(c:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
  WITH DISTINCT c, hk
  RETURN collect({concept: c.id, rels: [elementId(hk)]}) AS has
}
CALL (u, i) {
  MATCH (u)-[:INTERESTED_IN]->(c:Concept)
  WITH DISTINCT c
  WHERE NOT EXISTS { (i)-[:HAS_KNOWLEDGE]->(c) }
  CALL (c, i) {
    MATCH (c)<-[b:BROADER]-(ci:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
    RETURN ci, b, hk, 'narrower' AS family
    UNION ALL
    MATCH (c)-[b:BROADER]->(ci:Concept)<-[hk:HAS_KNOWLEDGE]-(i)
    RETURN ci, b, hk, 'broader' AS family
  }
  WITH c, ci, b, hk, family WHERE ci.type = c.type
  WITH c, ci, b, hk, family, COUNT { (ci)<-[:HAS_KNOWLEDGE]-() } AS n
  WITH c, collect({item_concept: ci.id, item_concept_name: coalesce(ci.name, ci.id), item_concept_items: n,
                   family: family, step: CASE family WHEN 'narrower' THEN 0 ELSE 1 END,
                   rels: [elementId(b), elementId(hk)]}) AS fs
  RETURN collect({concept: c.id, paths: apoc.coll.sortMulti(fs, ['^step', '^item_concept_items',
                                                                 '^item_concept_name', '^item_concept'])[0..$per_via]}) AS fam_has
}
WITH u, mine, pos, {item: i.id, title: coalesce(i.title, i.id), links: [x IN links WHERE x.via IS NOT NULL],
                    shared: shared, family: family, has: [x IN has WHERE x.concept IS NOT NULL],
                    fam_has: fam_has} AS found
ORDER BY pos
WITH u, mine, collect(found) AS items
RETURN [m IN mine | [m.j.id, coalesce(m.j.title, m.j.id), m.kinds, m.signs, elementId(m.x)]] AS history,
       COLLECT { MATCH (u)-[ii:INTERESTED_IN]->(c:Concept)
                 RETURN [c.id, coalesce(c.name, c.id), ii.horizon, ii.polarity, ii.weight,
                         coalesce(ii.confidence, 1.0), elementId(ii)] } AS interests,
       items
