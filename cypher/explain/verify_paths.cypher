// Re-MATCH explanation paths, independently of explain/evidence: each path's relationships (by elementId)
// must still connect the same user, concept and items:
//   interest:        (u {id: p.user})-[ii:INTERESTED_IN]->(c {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i {id: p.item})
//   shared_concept:  (u)-[x:INTERACTED]->(j {id: p.via})-[hj:HAS_KNOWLEDGE]->(c {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i)
//   item_link:       (u)-[x:INTERACTED]->(j {id: p.via})-[l:ITEM_LINK]->(i)
// Returns one row per input path with ok = true when the whole path exists.
// Params: $paths: list of {n, kind, user, item, concept, via, rels}.
UNWIND $paths AS p
CALL (p) {
  OPTIONAL MATCH (u:User {id: p.user})-[ii:INTERESTED_IN]->(c:Concept {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind = 'interest' AND elementId(ii) = p.rels[0] AND elementId(hk) = p.rels[1]
  WITH p, count(ii) AS n_interest
  OPTIONAL MATCH (u:User {id: p.user})-[x:INTERACTED]->(j:Item {id: p.via})-[hj:HAS_KNOWLEDGE]->(c:Concept {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind = 'shared_concept'
    AND elementId(x) = p.rels[0] AND elementId(hj) = p.rels[1] AND elementId(hk) = p.rels[2]
  WITH p, n_interest, count(x) AS n_item
  OPTIONAL MATCH (u:User {id: p.user})-[x:INTERACTED]->(j:Item {id: p.via})-[l:ITEM_LINK]->(i:Item {id: p.item})
  WHERE p.kind = 'item_link' AND elementId(x) = p.rels[0] AND elementId(l) = p.rels[1]
  WITH n_interest, n_item, count(l) AS n_link
  RETURN n_interest + n_item + n_link > 0 AS ok
}
RETURN p.n AS n, ok
