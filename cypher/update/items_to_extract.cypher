// Items whose current text the extractor $extractor has not done: the hash of the text (current_text_hash, written by
// every load and by kgrec_neo4j.extract.run.store_text_hashes) is not among the item's extract_hashes. `failed`:
// its last extraction by $extractor failed on the text it has now (retried, but not new work by itself; a text that
// changed since the failure is new work). No item text is read.
MATCH (i:Item)
WHERE i.current_text_hash IS NOT NULL
  AND NOT ($extractor + ':' + i.current_text_hash) IN coalesce(i.extract_hashes, [])
RETURN i.id AS id, coalesce(i.extract_error_by = $extractor
                              AND coalesce(i.extract_failed_hash, i.current_text_hash) = i.current_text_hash,
                              false) AS failed
ORDER BY id
