// Edges written by hand with values no stage reads as the pipeline writes them (`kgrec doctor`, check "edge values"):
// INTERESTED_IN edges with a horizon other than 'long' or 'short', a polarity other than 1 or -1, or a weight outside
// (0, 1] (left out of every score: a weight of -3 gave a user scores of 1e12); INTERACTED edges with a `rating` or
// `confidence` that is not a number or a `seq` that is not an integer (the classification refuses them), or between
// anything but a User and an Item (no stage reads them: a `kgrec status` line about them never cleared); two or more
// INTERACTED edges of one user with the same seq; a mention canonical to a concept of another type, or a concept whose
// `type` is not its OF_TYPE's (one of them changed by hand: the concept report counts such a mention as not
// covered). Each count with up to 3 examples.
CALL () {
  MATCH (u)-[r:INTERESTED_IN]->(c)
  WHERE NOT coalesce(r.horizon IN ['long', 'short'] AND r.polarity IN [1, -1] AND r.weight > 0 AND r.weight <= 1, false)
  WITH u, r, c
  RETURN count(r) AS interests,
         collect(u.id + ' -> ' + coalesce(c.name, c.id) + ' (horizon ' + coalesce(toStringOrNull(r.horizon), valueType(r.horizon))
                 + ', polarity ' + coalesce(toStringOrNull(r.polarity), valueType(r.polarity)) + ', weight '
                 + coalesce(toStringOrNull(r.weight), valueType(r.weight)) + ')')[..3] AS interest_examples
}
CALL () {
  MATCH (u)-[e:INTERACTED]->(i)
  WHERE NOT (u:User AND i:Item)
     OR (e.rating IS NOT NULL AND NOT (e.rating IS :: INTEGER OR e.rating IS :: FLOAT))
     OR (e.confidence IS NOT NULL AND NOT (e.confidence IS :: INTEGER OR e.confidence IS :: FLOAT))
     OR (e.seq IS NOT NULL AND NOT e.seq IS :: INTEGER)
  WITH u, e, i
  RETURN count(e) AS interactions,
         collect(coalesce(toStringOrNull(u.id), 'a ' + coalesce(head(labels(u)), 'unlabelled') + ' node') + ' -> '
                 + coalesce(toStringOrNull(i.id), coalesce(toStringOrNull(i.name), 'a ' + coalesce(head(labels(i)), 'unlabelled')
                 + ' node')) + CASE WHEN u:User AND i:Item THEN ' (seq ' + coalesce(toStringOrNull(e.seq), valueType(e.seq))
                 + ', rating ' + coalesce(toStringOrNull(e.rating), valueType(e.rating)) + ')' ELSE ' (not a User -> Item edge)' END)[..3]
           AS interaction_examples
}
// one INTERACTED edge per interaction, keyed by the user's seq (docs/graph-model.md), grouped per user
CALL () {
  MATCH (u:User)
  CALL (u) {
    MATCH (u)-[e:INTERACTED]->(:Item)
    WHERE e.seq IS NOT NULL
    WITH e.seq AS seq, count(*) AS n
    WHERE n > 1
    RETURN seq, n
  }
  RETURN count(*) AS shared_seqs,
         collect(u.id + ' seq ' + coalesce(toStringOrNull(seq), valueType(seq)) + ' (' + toString(n) + ' edges)')[..3]
           AS shared_seq_examples
}
// a type set by hand to another of the pack's (the trigger refuses only types outside it)
CALL () {
  MATCH (m:Mention)-[:CANONICAL]->(c:Concept)
  WHERE m.type <> c.type
  RETURN count(*) AS mixed_types, collect('mention ' + coalesce(m.text, m.key) + ' (' + m.type + ') -> concept '
                                          + coalesce(c.name, c.id) + ' (' + c.type + ')')[..3] AS mixed_type_examples
}
CALL () {
  MATCH (c:Concept)-[:OF_TYPE]->(k:KnowledgeType)
  WHERE k.name <> c.type
  RETURN count(*) AS concept_types, collect('concept ' + coalesce(c.name, c.id) + ' (type ' + c.type + ', OF_TYPE '
                                            + k.name + ')')[..3] AS concept_type_examples
}
RETURN interests, interest_examples, interactions, interaction_examples, shared_seqs, shared_seq_examples,
       mixed_types + concept_types AS types, (mixed_type_examples + concept_type_examples)[..3] AS type_examples
