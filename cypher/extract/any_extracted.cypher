// Whether any item was extracted before (by any extractor): the database's first extraction checks the pack.
RETURN EXISTS { MATCH (i:Item) WHERE i.extract_hashes IS NOT NULL } AS any
