// Graph-RAG retrieval 2: each user's current interest subgraph of one extractor
// (concept, type, horizon, polarity, weight, confidence, evidence).
UNWIND $users AS uid
MATCH (u:User {id: uid})
RETURN uid AS user,
       [(u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept) |
        {concept_id: c.id, name: coalesce(c.name, c.id), type: c.type, horizon: r.horizon, polarity: r.polarity,
         weight: r.weight, confidence: r.confidence, evidence: coalesce(r.evidence, []),
         updated_seq: r.updated_seq}] AS interests
