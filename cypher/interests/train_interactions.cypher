// The train interactions of a batch of users as one list per user: [seq, item id, sign, confidence]
// (the caller sorts by seq; a seq written by hand as text, '99', is the number it spells, one that spells none
// missing). Only split = 'train' is read unless $every_split (interests for serving,
// users/interests/scope.py): in evaluation nothing from valid or test interactions may reach the interest edges. Edges under $min_confidence (an edge without a confidence counts as 1.0) and
// edges without a polarity (sign 0, e.g. mixed) are left out.
// `stored`: the user's INTERESTED_IN edges of $extractor as they are, [<concept id>|<horizon>, digest] each, from which
// the caller sends only what changed (cypher/interests/replace_edges.cypher). An edge whose values are not ones this
// extractor writes (edited by hand: a weight outside (0, 1], a polarity other than 1 or -1) reads without its digest,
// so it is written again (a rerun kept a hand-edited weight of -3, which the digest still matched).
UNWIND $users AS uid
MATCH (u:User {id: uid})
RETURN uid AS user,
       [(u)-[e:INTERACTED]->(i:Item)
        WHERE (coalesce(e.split, 'train') = 'train' OR $every_split) AND coalesce(e.confidence, 1.0) >= $min_confidence AND coalesce(e.sign, 1) <> 0
        | [toIntegerOrNull(e.seq), i.id, coalesce(e.sign, 1), coalesce(e.confidence, 1.0)]] AS events,
       [(u)-[r:INTERESTED_IN {extractor: $extractor}]->(c:Concept)
        | [c.id + '|' + r.horizon, CASE WHEN r.polarity IN [1, -1] AND r.weight > 0 AND r.weight <= 1 THEN r.digest END]]
         AS stored
