// Items whose last extraction by extractor $extractor failed (retried by an update, but not new work by themselves).
MATCH (i:Item)
WHERE i.extract_error_by = $extractor
RETURN i.id AS id
