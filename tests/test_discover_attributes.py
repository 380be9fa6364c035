"""Offline discovery names a cluster by the attribute its values share and drops clusters of function words."""

from __future__ import annotations

import pytest

from kgrec_neo4j.discover.attributes import cluster_attribute, is_function_words, value_attribute
from kgrec_neo4j.extract.offline import STOPWORDS


@pytest.mark.parametrize("text,attr", [
    ("Black", "Color"), ("navy blue", "Color"), ("Assorted Colors", "Color"), ("12 inch", "Dimensions"),
    ("Inches", "Dimensions"), ("8.5 x 11", "Dimensions"), ("5 lbs", "Weight"), ("12 pack", "Quantity"),
    ("Sheets", "Quantity"), ("64 GB", "Storage Capacity"), ("stainless steel", "Material"), ("kraft paper", "Material"),
    ("Letter Size", "Size"), ("PS4", "Platform"), ("3600 mAh", "Power"), ("ballpoint pen", None), ("42", None),
])
def test_value_attribute(text, attr):
    assert value_attribute(text) == attr


def test_cluster_named_by_the_attribute_of_most_mentions():
    assert cluster_attribute([("Black", 10), ("White", 6), ("Tank Style", 3)]) == "Color"
    assert cluster_attribute([("Inches", 8), ("Diameter", 2), ("wide", 1)]) == "Dimensions"
    assert cluster_attribute([("pens", 9), ("gel pens", 4), ("Black", 1)]) is None  # product kinds: no attribute


def test_function_word_clusters():
    assert is_function_words([("commonly", 3), ("widely", 2), ("frequently", 2), ("market", 1)], STOPWORDS)
    assert is_function_words([("available", 5), ("well", 4), ("durable", 3)], STOPWORDS)
    assert not is_function_words([("Black", 5), ("White", 4)], STOPWORDS)
