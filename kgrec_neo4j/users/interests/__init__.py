"""User interests on the concept vocabulary: ``(:User)-[:INTERESTED_IN]->(:Concept)``.

* :mod:`.offline` — deterministic edges from the concepts of liked and disliked train items
  (long-term support over the whole train history, short-term with recency decay);
* :mod:`.graphrag` with :mod:`.llm` — an LLM walks each user's train interactions in order and updates
  the interests from the retrieved item and user subgraphs (Graph-RAG);
* :mod:`.store` — the edge contract and shared reads; :mod:`.profile` — a user's profile as text or PNG.
"""

from .offline import OfflineParams, OfflineReport, extract_offline, user_interests
from .store import Interest, delete_interests, read_interests, user_ids

__all__ = ["Interest", "OfflineParams", "OfflineReport", "delete_interests", "extract_offline", "read_interests",
           "user_ids", "user_interests"]
