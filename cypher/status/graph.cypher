// `kgrec status`: what the graph holds, counted (labels and relationship types from the count store; the rest
// with one pass over the items and the users and one seek per property index). Read-only.
CALL () { MATCH (u:User) RETURN count(u) AS users }
CALL () { MATCH (i:Item) RETURN count(i) AS items }
CALL () { MATCH ()-[e:INTERACTED]->() RETURN count(e) AS interactions }
CALL () { MATCH (d:Dataset) RETURN collect({name: d.name, status: d.status}) AS datasets }
CALL () { MATCH (i:Item) WHERE i.extract_hashes IS NOT NULL RETURN count(i) AS items_extracted }
CALL () { MATCH (i:Item) WHERE i.extract_error IS NOT NULL RETURN count(i) AS items_failed }
CALL () { MATCH (u:User) WHERE u.interests_error IS NOT NULL RETURN count(u) AS users_failed }
CALL () { MATCH ()-[e:INTERACTED]->() WHERE e.text_error IS NOT NULL RETURN count(e) AS texts_failed }
CALL () { MATCH (m:Mention) RETURN count(m) AS mentions }
CALL () { MATCH (m:Mention) WHERE m.pending IS NOT NULL RETURN count(m) AS mentions_pending }
CALL () { MATCH (c:Concept) RETURN count(c) AS concepts }
CALL () { MATCH ()-[k:HAS_KNOWLEDGE]->() RETURN count(k) AS knowledge_edges }
CALL () { MATCH ()-[r:INTERESTED_IN]->() RETURN count(r) AS interest_edges }
RETURN users, items, interactions, datasets, items_extracted, items_failed, users_failed, texts_failed, mentions,
       mentions_pending, concepts, knowledge_edges, interest_edges
