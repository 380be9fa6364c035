// Uniqueness constraints (Neo4j 5 Community). Each statement is idempotent (IF NOT EXISTS).
// Community edition has no property-type or existence constraints: knowledge-point types are enforced
// by the (:KnowledgeType) nodes of the active pack and by every write query, which MATCHes the type
// node and refuses the whole batch when one is missing (see kgrec_neo4j/core/schema.py).
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE;
CREATE CONSTRAINT item_id IF NOT EXISTS FOR (i:Item) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT knowledge_type_name IF NOT EXISTS FOR (k:KnowledgeType) REQUIRE k.name IS UNIQUE;
CREATE CONSTRAINT concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT mention_type_key IF NOT EXISTS FOR (m:Mention) REQUIRE (m.type, m.key) IS UNIQUE;
CREATE CONSTRAINT model_run_id IF NOT EXISTS FOR (r:ModelRun) REQUIRE r.id IS UNIQUE;
CREATE CONSTRAINT dataset_name IF NOT EXISTS FOR (d:Dataset) REQUIRE d.name IS UNIQUE;
CREATE CONSTRAINT writer_lease_name IF NOT EXISTS FOR (l:WriterLease) REQUIRE l.name IS UNIQUE;
