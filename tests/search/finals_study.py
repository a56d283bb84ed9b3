"""A study after its finals, stored directly: three finalists of invocation 1 with kept
predictions and energy rounds, and an older invocation's baseline."""

from __future__ import annotations

import optuna

from greensearch.record import queued_attrs
from greensearch.schema import StudyAttr
from greensearch.search._f1_judging import f1_judgement
from greensearch.stats import RunPredictions

LABELS = [1] * 160 + [0] * 240
SEEDS = [42, 43, 44]
#: Positives each seed's baseline run misses: the seed-to-seed spread.
BASE_MISSES = [range(0, 4), range(4, 10), range(10, 15)]
CONFIDENCE = 0.93
BASE_KWH = [1.0, 1.2, 0.9]


def runs(extra_misses: int) -> list[RunPredictions]:
    """The baseline's runs, each also missing ``extra_misses`` further positives."""
    runs = []
    for seed, misses in zip(SEEDS, BASE_MISSES, strict=True):
        classes = list(LABELS)
        for i in [*misses, *range(100, 100 + extra_misses)]:
            classes[i] = 0
        runs.append(
            RunPredictions.from_lists(split_id="s", labels=LABELS, classes=classes, seed=seed)
        )
    return runs


def _attrs(runs: list[RunPredictions], kwh: list[float]) -> dict:
    return {
        "predictions": [r.to_record() for r in runs],
        "seeds": SEEDS,
        "energy_kwh_runs": kwh,
        "energy_kwh": sum(kwh) / len(kwh),
        "degenerate": False,
        "repeats": len(kwh),
        "f1": 0.97,  # shown, not judged: the verdicts come from the predictions
        "delta_f1_pct": 0.0,
    }


def _add(study, knobs: str, generation: int, attrs: dict, base: dict | None) -> None:
    stored = {
        **queued_attrs("final", 1.0, knobs, rounds=True, generation=generation),
        **attrs,
    }
    if base is not None:
        stored["delta_energy_pct"] = (attrs["energy_kwh"] / base["energy_kwh"] - 1) * 100
        stored.update(
            f1_judgement(
                attrs, base, budget_pct=1.0, confidence=CONFIDENCE, point_loss_pct=0, min_seeds=2
            ).to_attrs()
        )
    study.add_trial(optuna.trial.create_trial(values=[attrs["energy_kwh"], 0.0], user_attrs=stored))


def finals_study(b_kwh: tuple[float, ...] = (0.8, 1.1, 0.6)):
    """Three finalists of invocation 1: A cheapest and feasible alone, B lossless, C lossy;
    invocation 0's baseline is worse and dearer, so pairing with it would show. ``b_kwh``:
    B's energy per round (the baseline's: 1.0, 1.2, 0.9)."""
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.set_user_attr(StudyAttr.CONFIDENCE, CONFIDENCE)
    _add(study, "", 0, _attrs(runs(6), [2.0, 2.0, 2.0]), None)
    base = _attrs(runs(0), BASE_KWH)
    _add(study, "", 1, base, None)
    _add(study, "a", 1, _attrs(runs(1), [0.5, 0.6, 0.5]), base)
    _add(study, "b", 1, _attrs(runs(0), list(b_kwh)), base)
    _add(study, "c", 1, _attrs(runs(3), [0.9, 1.1, 0.8]), base)
    return study
