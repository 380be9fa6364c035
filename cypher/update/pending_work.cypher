// Whether an update has anything to do besides extraction (each part stops at its first hit): users stamped
// after $interests (their interests follow older edges), interactions stamped after $classified (a seek on the
// interacted_ingest index), interactions never classified (`unseen`: no kind_source, counted against the count
// store, see update/unclassified_users; the update's classification reuses the answer instead of counting again),
// mentions never projected (no concept and not pending) of a type with a vocabulary (`kgrec concepts build`; the
// update projects no other), items without a vector of any run while a run is current (the update folds them into
// it; with none it has nowhere to fold them), items without a stored text hash (`unhashed`: the update hashes and
// stores it, then knows whether to extract them).
CALL () { OPTIONAL MATCH (u:User) WHERE u.ingest > $interests WITH u LIMIT 1 RETURN u IS NOT NULL AS users }
CALL () { OPTIONAL MATCH ()-[e:INTERACTED]->() WHERE e.ingest > $classified
          WITH e LIMIT 1 RETURN e IS NOT NULL AS stamped }
CALL () { MATCH ()-[e:INTERACTED]->(:Item) RETURN count(e) AS edges }
CALL () { MATCH ()-[e:INTERACTED]->() WHERE e.kind_source IS NOT NULL RETURN count(e) AS classified }
CALL () { OPTIONAL MATCH (m:Mention) WHERE m.pending IS NULL AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
            AND EXISTS { MATCH (k:KnowledgeType {name: m.type}) WHERE k.concept_acceptance IS NOT NULL }
          WITH m LIMIT 1 RETURN m IS NOT NULL AS mentions }
CALL () { OPTIONAL MATCH (i:Item) WHERE i.gnn_run IS NULL AND EXISTS { MATCH (r:ModelRun {current: true}) }
          WITH i LIMIT 1 RETURN i IS NOT NULL AS items }
CALL () { OPTIONAL MATCH (i:Item) WHERE i.current_text_hash IS NULL WITH i LIMIT 1 RETURN i IS NOT NULL AS unhashed }
RETURN users, stamped, edges > classified AS unseen, mentions, items, unhashed
