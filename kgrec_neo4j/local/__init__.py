"""The two local servers the project can run for you (Neo4j with GDS and APOC, the bundled llama.cpp
LLM server) on one process helper, and ``doctor``, which checks whatever servers are configured."""
