"""Interaction types: a ``kind`` and a ``sign`` for every ``INTERACTED`` edge, from the rating and the review text.

The loader sets a rating baseline (≥4 like +1, ≤2 dislike −1, 3 mixed 0, no rating implicit +1).
:func:`classify_interactions` refines it:

* edges with neither rating nor text get the implicit kind (``kind_source = 'none'``);
* edges with a rating and no text keep the rating's kind (``kind_source = 'rating'``);
* edges with text are read by a *text classifier* (like / mixed / dislike with a confidence), and
  ``kind_text`` and ``text_confidence`` are stored next to the rating's kind. The final kind follows the
  rating when there is one (``prefer="rating"``; ``prefer="text"`` lets the text win), and
  ``kind_source`` says what decided it: ``text`` (no rating), ``rating+text`` (they agree),
  ``rating>text`` / ``text>rating`` (they disagree; the left one won). ``text_agrees`` is stored too.

Every classified edge gets a ``confidence`` in [0, 1] (see :mod:`kgrec_neo4j.users.confidence`).

Text classifiers (all return one :class:`TextVerdict` per text, in order):

* :class:`LexiconClassifier` (``lexicon``, offline, the default): a hand-written sentiment lexicon of
  product-review words and phrases with negation ("not good", "doesn't work"), intensifiers, a
  *but*-clause rule (what follows "but" counts more) and the review title weighted double.
* :class:`PrototypeClassifier` (``prototype``, offline): cosine similarity of the text embedding to
  labelled prototype sentences (mean of the 3 best per label).
* :class:`LLMTextClassifier` (``llm``): one structured request per review through the shared
  :class:`~kgrec_neo4j.llm.LLMClient` (cache, retries, accounting).

Kinds are configurable with :class:`KindScheme` (names and signs of the four roles, rating thresholds).
"""

from .classifiers import (
                          LexiconClassifier,
                          LLMTextClassifier,
                          PrototypeClassifier,
                          Review,
                          TextClassifier,
                          TextVerdict,
                          classify_messages,
                          lexicon_score,
                          make_classifier,
)
from .classify import Agreement, ClassifyReport, agreement, classify_interactions
from .decide import EdgeDecision, decide
from .kinds import ROLES, TEXT_LABELS, KindScheme, TextLabel, rating_label

__all__ = ["ROLES", "TEXT_LABELS", "Agreement", "ClassifyReport", "EdgeDecision", "KindScheme", "LLMTextClassifier",
           "LexiconClassifier", "PrototypeClassifier", "Review", "TextClassifier", "TextLabel", "TextVerdict",
           "agreement", "classify_interactions", "classify_messages", "decide", "lexicon_score", "make_classifier",
           "rating_label"]
