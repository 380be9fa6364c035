// Remove the items' MENTIONS edges from one extractor; return the mentions they pointed to (orphan check later).
UNWIND $ids AS id
MATCH (:Item {id: id})-[r:MENTIONS {extractor: $extractor}]->(m:Mention)
WITH r, m.type AS type, m.key AS key
DELETE r
RETURN collect(DISTINCT {type: type, key: key}) AS old
