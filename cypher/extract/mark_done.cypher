// Items extracted without error: record the extractor and the hash of the text it read.
UNWIND $rows AS row
MATCH (i:Item {id: row.item_id})
SET i.text_hash = row.text_hash,
    i.extracted_by = [x IN coalesce(i.extracted_by, []) WHERE x <> $extractor] + $extractor,
    i.extract_hashes = [x IN coalesce(i.extract_hashes, []) WHERE NOT x STARTS WITH $extractor + ':']
                       + ($extractor + ':' + row.text_hash)
WITH i
WHERE i.extract_error_by = $extractor
REMOVE i.extract_error, i.extract_error_by, i.extract_failed_at, i.extract_failed_hash
