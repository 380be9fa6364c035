// Re-MATCH explanation paths, independently of explain/evidence: each path's relationships (by elementId)
// must still connect the same user, concepts and items, in the path's direction:
//   interest:        (u {id: p.user})-[ii:INTERESTED_IN]->(c {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i {id: p.item})
//   shared_concept:  (u)-[x:INTERACTED]->(j {id: p.via})-[hj:HAS_KNOWLEDGE]->(c {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i)
//   item_link:       (u)-[x:INTERACTED]->(j {id: p.via})-[l:ITEM_LINK]->(i)
//   family_concept:  (u)-[x:INTERACTED]->(j {id: p.via})-[hj:HAS_KNOWLEDGE]->(c {id: p.concept}) then, by p.family,
//                    narrower <-[b:BROADER]-, broader -[b:BROADER]->, or sibling -[b1:BROADER]->(:Concept {id: p.parent})
//                    <-[b2:BROADER]-, to (ci {id: p.item_concept})<-[hk:HAS_KNOWLEDGE]-(i)
//   interest_family: (u)-[ii:INTERESTED_IN]->(c {id: p.concept}) then narrower <-[b:BROADER]- or broader -[b:BROADER]->
//                    to (ci {id: p.item_concept})<-[hk:HAS_KNOWLEDGE]-(i)
// Returns one row per input path with ok = true when the whole path exists.
// Params: $paths: list of {n, kind, user, item, concept, via, family, item_concept, parent, rels}.
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
  WITH p, n_interest, n_item, count(l) AS n_link
  WITH p, n_interest + n_item + n_link AS n_plain
  OPTIONAL MATCH (u:User {id: p.user})-[x:INTERACTED]->(j:Item {id: p.via})-[hj:HAS_KNOWLEDGE]->(c:Concept {id: p.concept}),
                 (ci:Concept {id: p.item_concept})<-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind = 'family_concept' AND p.family IN ['narrower', 'broader'] AND size(p.rels) = 4
    AND elementId(x) = p.rels[0] AND elementId(hj) = p.rels[1] AND elementId(hk) = p.rels[3]
    AND CASE p.family WHEN 'narrower' THEN EXISTS { (c)<-[b:BROADER]-(ci) WHERE elementId(b) = p.rels[2] }
                      ELSE EXISTS { (c)-[b:BROADER]->(ci) WHERE elementId(b) = p.rels[2] } END
  WITH p, n_plain, count(x) AS n_step
  OPTIONAL MATCH (u:User {id: p.user})-[x:INTERACTED]->(j:Item {id: p.via})-[hj:HAS_KNOWLEDGE]->(c:Concept {id: p.concept})
                 -[b1:BROADER]->(:Concept {id: p.parent})<-[b2:BROADER]-(ci:Concept {id: p.item_concept})
                 <-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind = 'family_concept' AND p.family = 'sibling' AND size(p.rels) = 5
    AND elementId(x) = p.rels[0] AND elementId(hj) = p.rels[1] AND elementId(b1) = p.rels[2]
    AND elementId(b2) = p.rels[3] AND elementId(hk) = p.rels[4]
  WITH p, n_plain, n_step, count(x) AS n_sibling
  OPTIONAL MATCH (u:User {id: p.user})-[ii:INTERESTED_IN]->(c:Concept {id: p.concept}),
                 (ci:Concept {id: p.item_concept})<-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind = 'interest_family' AND p.family IN ['narrower', 'broader'] AND size(p.rels) = 3
    AND elementId(ii) = p.rels[0] AND elementId(hk) = p.rels[2]
    AND CASE p.family WHEN 'narrower' THEN EXISTS { (c)<-[b:BROADER]-(ci) WHERE elementId(b) = p.rels[1] }
                      ELSE EXISTS { (c)-[b:BROADER]->(ci) WHERE elementId(b) = p.rels[1] } END
  WITH n_plain, n_step, n_sibling, count(ii) AS n_interest_family
  RETURN n_plain + n_step + n_sibling + n_interest_family > 0 AS ok
}
RETURN p.n AS n, ok
