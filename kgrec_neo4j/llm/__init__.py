"""The LLM path: a generic structured-output client, its cache, and the bundled local model server.

``LLMClient`` talks to any OpenAI-compatible endpoint through LangChain's ``ChatOpenAI``; extraction
(``kgrec_neo4j.extract.llm``), user interests and interaction classification build on it.
"""

from .cache import LLMCache, cache_key
from .client import (
    FINAL_REASONS,
    OUTPUT_REASONS,
    TRANSPORT_REASONS,
    LLMClient,
    Result,
    RunStats,
    StructuredRequest,
    Usage,
)

__all__ = [
    "FINAL_REASONS", "OUTPUT_REASONS", "TRANSPORT_REASONS", "LLMCache", "LLMClient", "Result", "RunStats",
    "StructuredRequest", "Usage", "cache_key",
]
