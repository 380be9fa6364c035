// Re-MATCH explanation paths, independently of explain/paths: each path's relationships (by elementId)
// must still connect the same user, concept and items with the same kind (polarity / sign);
// item_link paths: the same user, interacted train item and ITEM_LINK to the item.
// Returns one row per input path with ok = true when the whole path exists.
// Params: $paths: list of {n, kind, user, item, concept, via, rels}.
UNWIND $paths AS p
CALL (p) {
  OPTIONAL MATCH (u:User {id: p.user})-[ii:INTERESTED_IN]->(c:Concept {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind IN ['interest', 'negative_interest']
    AND elementId(ii) = p.rels[0] AND elementId(hk) = p.rels[1]
    AND (coalesce(ii.polarity, 1) < 0) = (p.kind = 'negative_interest')
  WITH p, count(ii) AS n_interest
  OPTIONAL MATCH (u:User {id: p.user})-[x:INTERACTED]->(j:Item {id: p.via})-[hj:HAS_KNOWLEDGE]->(c:Concept {id: p.concept})<-[hk:HAS_KNOWLEDGE]-(i:Item {id: p.item})
  WHERE p.kind IN ['liked_item', 'disliked_item']
    AND elementId(x) = p.rels[0] AND elementId(hj) = p.rels[1] AND elementId(hk) = p.rels[2]
    AND (coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1 WHEN x.rating <= 2 THEN -1 ELSE 0 END) < 0) = (p.kind = 'disliked_item')
    AND coalesce(x.sign, CASE WHEN x.rating IS NULL OR x.rating >= 4 THEN 1 WHEN x.rating <= 2 THEN -1 ELSE 0 END) <> 0
  WITH p, n_interest, count(x) AS n_item
  OPTIONAL MATCH (u:User {id: p.user})-[x:INTERACTED]->(j:Item {id: p.via})-[l:ITEM_LINK]->(i:Item {id: p.item})
  WHERE p.kind = 'item_link' AND elementId(x) = p.rels[0] AND elementId(l) = p.rels[1]
  WITH n_interest, n_item, count(l) AS n_link
  RETURN n_interest + n_item + n_link > 0 AS ok
}
RETURN p.n AS n, ok
