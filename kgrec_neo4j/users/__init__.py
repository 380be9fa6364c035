"""The user side: signed interaction kinds, interests (offline and Graph-RAG) and their confidence."""
