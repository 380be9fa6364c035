// Why not: the user's dislikes and negative interests that reach an item, and what each one does to its score.
// A dislike's item-graph share of the current run's score is exact (item_link_weight * x * decay ^ back *
// ITEM_LINK.weight, x the run's dislike value, decay the run's item-graph recency decay (`recency.item_graph` of its
// metrics; 1 when none), back the user's interactions after the dislike by `seq`; an edge without `sign` takes it
// from `rating`): negative counts against the item, positive for it (an item graph can count a dislike as
// interest; one whose share has faded under 0.0001 with the decay no longer counts; a run trained with
// `--dislike-value 0` gives it none); a dislike without an ITEM_LINK
// to the item has share null here (its model part, and every reason's full share, come from
// `kgrec explain --user U --item I`). Shared concepts and negative interests are evidence; a
// negative interest names its horizon (long-term, short-term: a user can have both on one concept).
// :param user => 'A2OAG0NE83ODBD'
// :param item => 'B0018YDKBS'
MATCH (u:User {id: $user}), (i:Item {id: $item})
OPTIONAL MATCH (r:ModelRun {current: true})
CALL (r, u, i) {
  MATCH p = (u)-[ii:INTERESTED_IN]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i)
  WHERE ii.polarity < 0
  RETURN p, 'you are not interested in ' + c.name
            + CASE ii.horizon WHEN 'long' THEN ' (long-term)' WHEN 'short' THEN ' (short-term)' ELSE '' END AS reason,
         null AS share
  UNION ALL
  MATCH (u)-[x:INTERACTED]->(j:Item)
  WHERE j <> i
  WITH r, u, i, j,
       max(coalesce(x.sign, CASE WHEN properties(x).rating IS NULL OR properties(x).rating >= 4 THEN 1
                                   WHEN properties(x).rating <= 2 THEN -1 ELSE 0 END)) AS best,
       CASE WHEN count(x.seq) < count(x) THEN null ELSE max(x.seq) END AS last
  WHERE best < 0
  WITH r, u, i, j,
       CASE WHEN last IS NULL THEN 0 ELSE COUNT { (u)-[y:INTERACTED]->(:Item) WHERE y.seq IS NULL OR y.seq > last } END AS back
  OPTIONAL MATCH pl = (u)-[:INTERACTED]->(j)-[l:ITEM_LINK]->(i) WHERE l.run = r.id
  WITH r, u, i, j, back, head(collect(pl)) AS pl, head(collect(l.weight)) AS w
  OPTIONAL MATCH pc = (u)-[:INTERACTED]->(j)-[:HAS_KNOWLEDGE]->(c:Concept)<-[:HAS_KNOWLEDGE]-(i)
  WITH r, j, back, pl, w, head(collect(pc)) AS pc, collect(DISTINCT c.name)[0..3] AS shared
  WHERE pl IS NOT NULL OR pc IS NOT NULL
  WITH j, coalesce(pl, pc) AS p, shared, back,
       coalesce(apoc.convert.fromJsonMap(coalesce(r.metrics, '{}')).recency.item_graph, 1.0) ^ back AS fade,
       coalesce(r.item_link_weight, 0.0) * coalesce(r.item_link_dislike_value, 1.0) * w AS whole
  WITH j, p, shared, back, fade, CASE WHEN whole IS NULL THEN null ELSE whole * fade END AS share
  RETURN p, 'you disliked ' + coalesce(j.title, j.id)
            + CASE WHEN share IS NULL THEN ''
                   WHEN share = 0 THEN ', which counts nothing in the item graph of this run'
                   WHEN abs(share) < 0.0001 AND fade < 0.01
                     THEN ', which no longer counts in the item graph (' + toString(back) + ' of your interactions came after it)'
                   WHEN share < 0 THEN ', which counts against it in the item graph'
                   ELSE ', which still goes with it in the item graph' END
            + CASE WHEN size(shared) > 0 THEN ' (shared: ' + reduce(s = '', n IN shared | s + CASE WHEN s = '' THEN '' ELSE ', ' END + n) + ')'
                   ELSE '' END AS reason, share
}
RETURN reason, share, p
ORDER BY abs(coalesce(share, 0.0)) DESC, reason
LIMIT 25;
