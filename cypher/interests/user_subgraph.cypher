// Graph-RAG retrieval 2: each user's current interest subgraph of one extractor
// (concept, type, horizon, polarity, weight, confidence, evidence). Users in $fresh (a restart whose first batch is
// not written yet) have none.
// Params: $users, $fresh (lists of User.id), $extractor.
UNWIND $users AS uid
MATCH (u:User {id: uid})
RETURN uid AS user,
       [(u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept) WHERE NOT uid IN $fresh |
        {concept_id: c.id, name: coalesce(c.name, c.id), type: c.type, horizon: r.horizon, polarity: r.polarity,
         weight: r.weight, confidence: r.confidence, evidence: coalesce(r.evidence, []),
         updated_seq: r.updated_seq}] AS interests
