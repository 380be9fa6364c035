// Items whose extraction failed: the error is kept on the item. What an earlier extraction by $extractor stored (its
// mentions, extracted_by, the extract_hashes entry of the text they came from) stays whole: nothing is lost.
UNWIND $rows AS row
MATCH (i:Item {id: row.item_id})
SET i.extract_error = row.error, i.extract_error_by = $extractor, i.extract_failed_at = datetime(),
    i.extract_failed_hash = row.text_hash
