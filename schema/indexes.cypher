// Range and vector indexes. $dim is the embedding model's dimension (from configuration).
CREATE INDEX interacted_split IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.split);
CREATE INDEX concept_type IF NOT EXISTS FOR (c:Concept) ON (c.type);
CREATE INDEX concept_alias IF NOT EXISTS FOR (c:Concept) ON (c.aliases);
CREATE INDEX item_dataset IF NOT EXISTS FOR (i:Item) ON (i.dataset);
CREATE INDEX user_dataset IF NOT EXISTS FOR (u:User) ON (u.dataset);
CREATE VECTOR INDEX concept_embedding IF NOT EXISTS FOR (c:Concept) ON (c.embedding)
  OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}};
CREATE INDEX item_link_run IF NOT EXISTS FOR ()-[l:ITEM_LINK]-() ON (l.run);
CREATE INDEX user_ingest IF NOT EXISTS FOR (u:User) ON (u.ingest);
CREATE INDEX item_work_key IF NOT EXISTS FOR (i:Item) ON (i.work_key);
// kgrec update: edges a load stamped after the last classification (a range seek), and whether any edge lacks a
// classification (the count of classified edges, read from this index, against the relationship count store).
CREATE INDEX interacted_ingest IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.ingest);
CREATE INDEX interacted_kind_source IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.kind_source);
// kgrec status: interactions recorded live (serve --writes) after the current run started training.
CREATE INDEX interacted_recorded IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.recorded);
// kgrec status: the review texts whose classification failed (their reason is kept on the edge), counted on this index.
CREATE INDEX interacted_text_error IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.text_error);
// Which interest extractors have edges (cypher/interests/scope.cypher, read by every interest run and update step):
// without it, asking whether any edge is the LLM's scans every INTERESTED_IN edge when none is (0.5 s on full Video
// Games, four times per update).
CREATE INDEX interested_extractor IF NOT EXISTS FOR ()-[r:INTERESTED_IN]-() ON (r.extractor);
