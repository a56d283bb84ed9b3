"""Task metrics per example: entity F1 from counts, means of scores, stored and resampled."""

from __future__ import annotations

import numpy as np
import pytest

from greensearch.stats import RunPredictions, delta_f1, metric_value, task_metric
from greensearch.stats._bootstrap import f1_matrix

COUNTS = [(2, 0, 1), (0, 1, 0), (1, 1, 1), (3, 0, 0), (0, 0, 2)]


def _entities(counts=COUNTS, seed=None):
    return RunPredictions.from_entity_counts(split_id="s", counts=counts, seed=seed)


def test_entity_f1_is_corpus_f1_of_summed_counts_under_any_resample():
    run = _entities()
    assert metric_value(run) == pytest.approx(2 * 6 / (2 * 6 + 2 + 4))
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(COUNTS), size=(50, len(COUNTS)))
    weights = np.stack([np.bincount(p, minlength=len(COUNTS)) for p in picks]).astype(float)
    got = f1_matrix([run], weights)[:, 0]
    for row, p in zip(got, picks, strict=True):
        tp, fp, fn = np.array(COUNTS)[p].sum(axis=0)
        assert row == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp else 0.0)


def test_a_mean_metric_is_the_mean_of_its_resampled_scores():
    scores = [1.0, 0.0, 1.0, 1.0, 0.5]
    run = RunPredictions.from_scores(split_id="s", scores=scores, metric="accuracy")
    assert metric_value(run) == pytest.approx(0.7)
    weights = np.array([[5, 0, 0, 0, 0], [0, 2, 0, 0, 3], [1, 1, 1, 1, 1]], dtype=float)
    assert f1_matrix([run], weights)[:, 0] == pytest.approx([1.0, 0.3, 0.7])


@pytest.mark.parametrize(
    "run",
    [
        _entities(seed=3),
        RunPredictions.from_scores(split_id="s", scores=[1, 0, 0.25], metric="exact_match"),
    ],
    ids=["entity_f1", "exact_match"],
)
def test_records_keep_the_metric_and_values(run):
    block = run.to_record()
    assert block["encoding"] == "b64-v2" and block["metric"] == run.metric
    back = RunPredictions.from_record(block, seed=run.seed)
    assert back.metric == run.metric
    assert np.array_equal(back.values, run.values)
    assert metric_value(back) == pytest.approx(metric_value(run))


def test_f1_records_keep_the_v1_encoding():
    run = RunPredictions.from_lists(split_id="s", labels=[0, 1, 1], classes=[0, 1, 0])
    assert run.to_record()["encoding"] == "b64-v1" and "metric" not in run.to_record()


def test_identical_entity_runs_have_no_delta_and_other_metrics_are_not_mixed():
    base, cand = [_entities(seed=42), _entities(seed=43)], [_entities(seed=42)]
    d = delta_f1(base, cand, budget_pct=1.0, n_resamples=200)
    assert d.mean_pct == 0.0 and d.ci95_pct == (0.0, 0.0)
    scored = RunPredictions.from_scores(split_id="s", scores=[1] * 5, metric="exact_match")
    with pytest.raises(ValueError, match="different metrics"):
        delta_f1(base, [scored], budget_pct=1.0, n_resamples=10)


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        _entities(counts=[(1, -1, 0)])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        RunPredictions.from_scores(split_id="s", scores=[1.5], metric="exact_match")
    with pytest.raises(ValueError, match="not a mean"):
        RunPredictions.from_scores(split_id="s", scores=[1.0], metric="entity_f1")
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        task_metric("bleu")
    assert task_metric("entity_f1").label == "entity F1"
