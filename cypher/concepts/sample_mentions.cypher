// Unique mentions of the sampled items (edges under the confidence floor are not read), with the
// number of sampled items that mention each.
UNWIND $ids AS id
MATCH (:Item {id: id})-[r:MENTIONS]->(m:Mention)
WHERE coalesce(r.confidence, 1.0) >= $min_confidence
RETURN m.type AS type, m.key AS key, m.text AS text, count(DISTINCT id) AS items
