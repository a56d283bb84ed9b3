"""Summaries over repeated runs: mean, standard deviation and a 95% confidence interval.

A single run of a noisy meter says little; greensearch reports the spread with every
figure so a reader can tell a knob's effect from noise.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from greensearch.stats import RunPredictions, f1_interval

__all__ = ["summarize", "describe", "t_critical"]


def t_critical(dof: int) -> float:
    """Two-sided 95% Student-t value for ``dof`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def describe(values: list[float]) -> dict[str, float | int | None]:
    """Mean, std and 95% CI of ``values`` (std and CI are ``None`` for one value)."""
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return {"mean": mean, "std": None, "ci95_low": None, "ci95_high": None, "n": n}
    std = statistics.stdev(values)
    half = t_critical(n - 1) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half, "n": n}


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Collapse repeat records into one summary shaped like a record, plus ``stats``."""
    first = records[0]
    figures = {
        "energy_kwh": [r["energy_kwh"] for r in records],
        "net_energy_kwh": [r["net_energy_kwh"] for r in records],
        "duration_s": [r["duration_s"] for r in records],
        "co2_kg": [r["co2_kg"] for r in records],
        "f1": [r["metrics"]["f1"] for r in records],
        "f1_weighted": [r["metrics"]["f1_weighted"] for r in records],
        "accuracy": [r["metrics"]["accuracy"] for r in records],
    }
    stats = {name: describe(values) for name, values in figures.items()}
    stages: dict[str, dict[str, float]] = {}
    for stage, first_stage in first["stages"].items():
        stages[stage] = {
            key: statistics.fmean(r["stages"][stage][key] for r in records) for key in first_stage
        }
        stats[f"{stage}_energy_kwh"] = describe([r["stages"][stage]["energy_kwh"] for r in records])
    methods = {r["meter"]["method"] for r in records}
    summary: dict[str, Any] = {
        key: first[key]
        for key in (
            "study",
            "study_file",
            "knobs",
            "notes",
            "variant",
            "device",
            "fidelity",
            "planned_steps",
        )
        if key in first
    }
    summary.update(
        {
            "stages": stages,
            "energy_kwh": stats["energy_kwh"]["mean"],
            "net_energy_kwh": stats["net_energy_kwh"]["mean"],
            "duration_s": stats["duration_s"]["mean"],
            "co2_kg": stats["co2_kg"]["mean"],
            "metrics": {
                "f1": stats["f1"]["mean"],
                **_f1_uncertainty(records),
                "f1_weighted": stats["f1_weighted"]["mean"],
                "accuracy": stats["accuracy"]["mean"],
                "degenerate": any(r["metrics"]["degenerate"] for r in records),
            },
            "meter": {
                **first["meter"],
                "method": "measured" if methods == {"measured"} else "estimated",
            },
            "repeats": len(records),
            "seeds": [r.get("seed") for r in records],
            "seed_mode": first.get("seed_mode"),
            "stats": stats,
            "runs": records,
        }
    )
    return summary


def _f1_uncertainty(records: list[dict[str, Any]]) -> dict[str, Any]:
    """F1's 95% interval over the records' seeds and test examples, where they kept
    predictions; ``f1_ci95`` is ``None`` for records that predate kept predictions."""
    kept = [RunPredictions.from_run_record(r) for r in records]
    seeds = {r.get("seed") for r in records}
    if any(p is None for p in kept):
        return {"f1_ci95": None, "n_seeds": len(seeds)}
    interval = f1_interval([p for p in kept if p is not None])
    return {
        "f1_ci95": list(interval.ci95),
        "n_seeds": len(seeds),
        "n_test_examples": interval.n_examples,
    }
