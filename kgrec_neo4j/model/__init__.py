"""Recommender model, baselines and evaluation harness (in-memory; fed from a GDS export or jsonl)."""

from .data import TrainGraph, from_jsonl
from .evaluate import evaluate
from .gnn import KGRecGNN
from .train import TrainConfig, TrainReport, fit, fit_closed_form

__all__ = ["TrainGraph", "from_jsonl", "evaluate", "KGRecGNN", "TrainConfig", "TrainReport", "fit",
           "fit_closed_form"]
