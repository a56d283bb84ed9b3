"""The script side's reporter: the three forms of a report, checked before they are written."""

from __future__ import annotations

import json

import pytest

from greensearch.exceptions import ConfigError
from greensearch.integrations import report_run
from greensearch.integrations._reporter import report_predictions
from greensearch.stats import metric_value, split_identity


def test_entity_counts_and_example_scores_come_back_as_kept_predictions(tmp_path):
    path = report_run(
        entity_counts=[(1, 0, 1), (2, 1, 0)], example_ids=["a b", "c d"], path=tmp_path / "r"
    )
    run = report_predictions(json.loads(path.read_text()), seed=7)
    assert (run.metric, run.seed, run.n) == ("entity_f1", 7, 2)
    assert run.split_id == split_identity(["a b", "c d"], [2, 2])  # gold entities per sentence
    assert metric_value(run) == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))

    path = report_run(example_scores=[1, 0, 1, 1], metric="exact_match", path=tmp_path / "s")
    run = report_predictions(json.loads(path.read_text()), seed=7)
    assert (run.metric, run.n) == ("exact_match", 4)
    assert metric_value(run) == pytest.approx(0.75)


def test_outside_a_search_nothing_is_written(monkeypatch):
    monkeypatch.delenv("GREENSEARCH_REPORT", raising=False)
    assert report_run(entity_counts=[(0, 0, 1)]) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"predictions": [1], "labels": [1], "entity_counts": [(1, 0, 0)]}, "takes one of"),
        ({}, "got none"),
        ({"example_scores": [1.0]}, "needs metric='exact_match' or 'accuracy'"),
        ({"example_scores": [1.5], "metric": "exact_match"}, r"in \[0, 1\]"),
        ({"example_scores": [1.0], "metric": "entity_f1"}, "not a mean"),
        ({"entity_counts": [(1, 0, 0)], "metric": "exact_match"}, "does not fit"),
        ({"entity_counts": [(1, 0)]}, "triples"),
        ({"entity_counts": []}, "no test examples"),
        ({"predictions": [1, 0], "labels": [1]}, r"equal predictions and labels \(2 vs 1\)"),
        ({"entity_counts": [(1, 0, 0)], "example_ids": ["a", "b"]}, "2 example_ids for 1"),
        ({"predictions": [1, 0], "labels": [1, 0], "scores": [0.5]}, "scores and labels differ"),
        ({"entity_counts": [(1, 0, 0)], "train_seconds": -1.0}, "must be >= 0 seconds"),
        ({"entity_counts": [(1, 0, 0)], "train_seconds": float("nan")}, "must be >= 0 seconds"),
        ({"entity_counts": [(1, 0, 0)], "train_seconds": "soon"}, "must be a number"),
    ],
)
def test_bad_reports_are_one_line_config_errors(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message) as err:
        report_run(**kwargs, path=tmp_path / "r")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "r").exists()
