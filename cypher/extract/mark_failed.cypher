// Items whose extraction failed: the error is kept on the item, no mentions of this extractor remain.
UNWIND $rows AS row
MATCH (i:Item {id: row.item_id})
SET i.extract_error = row.error, i.extract_error_by = $extractor, i.extract_failed_at = datetime(),
    i.extracted_by = [x IN coalesce(i.extracted_by, []) WHERE x <> $extractor],
    i.extract_hashes = [x IN coalesce(i.extract_hashes, []) WHERE NOT x STARTS WITH $extractor + ':']
