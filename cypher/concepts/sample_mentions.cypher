// Unique mentions of the sampled items (edges under the confidence floor are not read), with the number of
// sampled items that mention each, the number of items of the whole graph that do (all_items), and, for
// values of fewer than $min_items items, those items' ids (to count a cluster's distinct items).
// Parameters: $ids (sampled item ids), $min_confidence, $min_items.
UNWIND $ids AS id
MATCH (:Item {id: id})-[r:MENTIONS]->(m:Mention)
WHERE coalesce(r.confidence, 1.0) >= $min_confidence
WITH m, count(DISTINCT id) AS items
WITH m, items, COUNT { (:Item)-[r2:MENTIONS]->(m) WHERE coalesce(r2.confidence, 1.0) >= $min_confidence } AS all_items
RETURN m.type AS type, m.key AS key, m.text AS text, items, all_items,
       CASE WHEN all_items < $min_items
            THEN [(i:Item)-[r3:MENTIONS]->(m) WHERE coalesce(r3.confidence, 1.0) >= $min_confidence | i.id]
            ELSE [] END AS few_items
