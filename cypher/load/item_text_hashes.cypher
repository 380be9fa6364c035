// The stored text hash of each of the items $ids (`current_text_hash`: kgrec_neo4j/core/texthash.py).
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN i.id AS id, i.current_text_hash AS hash
