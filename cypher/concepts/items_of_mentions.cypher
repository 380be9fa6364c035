// Items that mention any of the given mentions.
UNWIND $rows AS row
MATCH (:Mention {type: row.type, key: row.key})<-[:MENTIONS]-(i:Item)
RETURN DISTINCT i.id AS id
