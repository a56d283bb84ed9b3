"""Statistics of F1: kept predictions, seeded repeats, paired bootstrap and verdicts.

F1 is the task's metric: a classifier's F1, entity F1 or a mean of per-example scores
such as exact match (:class:`TaskMetric`), each kept per example and judged alike.

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
)
from greensearch.stats._energy import EnergyDelta, energy_delta, round_order
from greensearch.stats._entities import entity_counts, entity_spans
from greensearch.stats._metric import METRICS, TaskMetric, task_metric
from greensearch.stats._metric_values import metric_value
from greensearch.stats._predictions import RunPredictions, split_identity
from greensearch.stats._resolution import Design, f1_power, f1_resolution
from greensearch.stats._selection import Finalist, OracleChoice, holm_confirmed, select_oracle
from greensearch.stats._simulate import NoiseModel, simulate_arms
from greensearch.stats._verdict import Decision, F1Verdict, decision, judge

__all__ = [
    "DEFAULT_RESAMPLES",
    "Decision",
    "DeltaF1",
    "Design",
    "EnergyDelta",
    "F1Interval",
    "F1Verdict",
    "METRICS",
    "Finalist",
    "NoiseModel",
    "OracleChoice",
    "RunPredictions",
    "TaskMetric",
    "decision",
    "delta_f1",
    "energy_delta",
    "entity_counts",
    "entity_spans",
    "f1_interval",
    "f1_power",
    "f1_resolution",
    "holm_confirmed",
    "judge",
    "metric_value",
    "round_order",
    "select_oracle",
    "simulate_arms",
    "split_identity",
    "task_metric",
]
