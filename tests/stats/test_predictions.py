"""Kept predictions survive the record form exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from greensearch.stats import RunPredictions, split_identity


def test_record_round_trip_is_exact_for_classes_and_close_for_scores():
    run = RunPredictions.from_lists(
        split_id=split_identity(["a", "b", "c"], [0, 1, 1]),
        labels=[0, 1, 1],
        classes=[0, 1, 0],
        scores=[0.1, 0.875, 0.4],
        seed=43,
    )
    block = json.loads(json.dumps(run.to_record()))
    back = RunPredictions.from_run_record({"predictions": block, "seed": 43})
    assert back is not None
    assert back.seed == 43 and back.split_id == run.split_id
    assert back.labels.tolist() == [0, 1, 1] and back.classes.tolist() == [0, 1, 0]
    assert back.scores is not None
    assert np.allclose(back.scores, [0.1, 0.875, 0.4], atol=1e-3)


def test_split_identity_changes_with_any_text_or_label():
    base = split_identity(["a", "b"], [0, 1])
    assert split_identity(["a", "b"], [0, 1]) == base
    assert split_identity(["a", "c"], [0, 1]) != base
    assert split_identity(["a", "b"], [1, 1]) != base
    assert split_identity(["ab", ""], [0, 1]) != base


def test_many_classes_use_a_wider_type_and_length_is_checked():
    run = RunPredictions.from_lists(split_id="s", labels=[300, 2], classes=[300, 1])
    block = run.to_record()
    assert block["class_dtype"] == "uint16"
    assert RunPredictions.from_record(block).classes.tolist() == [300, 1]
    block["n"] = 3
    with pytest.raises(ValueError, match="hold 2 values"):
        RunPredictions.from_record(block)


def test_records_without_predictions_give_none():
    assert RunPredictions.from_run_record({"metrics": {}}) is None
