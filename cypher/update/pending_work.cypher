// What an update would have to do besides extraction: users stamped after $interests (their interests follow
// older edges), interactions stamped after $classified or never classified (no kind_source), mentions never
// projected (no concept and not pending), items without a vector of any run.
CALL () { MATCH (u:User) WHERE u.ingest > $interests RETURN count(u) AS users }
CALL () { MATCH ()-[e:INTERACTED]->() WHERE e.kind_source IS NULL OR e.ingest > $classified
          RETURN count(e) AS interactions }
CALL () { MATCH (m:Mention) WHERE m.pending IS NULL AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
          RETURN count(m) AS mentions }
CALL () { MATCH (i:Item) WHERE i.gnn_run IS NULL RETURN count(i) AS items }
RETURN users, interactions, mentions, items
