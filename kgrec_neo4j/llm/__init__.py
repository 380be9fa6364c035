"""The LLM path: structured answers as LangChain runnables, their cache, and the bundled local model server.

``LLMClient`` talks to any OpenAI-compatible endpoint through LangChain's ``ChatOpenAI``
(``with_structured_output``, ``with_fallbacks``, ``abatch``; the OpenAI SDK's retries); extraction
(``kgrec_neo4j.extract.llm``), user interests (Graph-RAG) and interaction classification build their
chains with :meth:`LLMClient.chain` on a ``ChatPromptTemplate``.
"""

from .cache import LLMCache, cache_key
from .client import (
    FINAL_REASONS,
    OUTPUT_REASONS,
    TRANSPORT_REASONS,
    AnswerSpec,
    LLMClient,
    Result,
    RunStats,
    StructuredRequest,
    Usage,
)

__all__ = [
    "FINAL_REASONS", "OUTPUT_REASONS", "TRANSPORT_REASONS", "AnswerSpec", "LLMCache", "LLMClient", "Result",
    "RunStats", "StructuredRequest", "Usage", "cache_key",
]
