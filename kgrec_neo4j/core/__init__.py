"""The core every stage stands on: settings, errors, the Neo4j connection, GDS, embeddings, the schema and
the shipped query files. Nothing here imports a stage."""
