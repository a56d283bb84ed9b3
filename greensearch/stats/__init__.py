"""Statistics of F1: kept predictions, seeded repeats, paired bootstrap and verdicts.

A run's F1 is a random variable: it moves with the training seed and with which examples
the test split holds. This package turns the predictions runs keep into intervals and
three-valued verdicts, with numpy and scipy only (no torch, Optuna or pandas), so the
pipeline, the search and the CLI judge F1 the same way.
"""

from greensearch.stats._bootstrap import (
    DEFAULT_RESAMPLES,
    DeltaF1,
    F1Interval,
    delta_f1,
    f1_interval,
    f1_resolution,
)
from greensearch.stats._predictions import RunPredictions, split_identity
from greensearch.stats._verdict import F1Verdict, judge

__all__ = [
    "DEFAULT_RESAMPLES",
    "DeltaF1",
    "F1Interval",
    "F1Verdict",
    "RunPredictions",
    "delta_f1",
    "f1_interval",
    "f1_resolution",
    "judge",
    "split_identity",
]
