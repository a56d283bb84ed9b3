"""Turn a run summary into what a trial stores: full-run estimates and raw spend.

At fidelity ``f`` a trial trains for a fraction of the planned steps. Its energy and
time are extrapolated to the full run by scaling only the training window by
``planned_steps / train_steps``; the other stages do not depend on the step count.
What was really spent is kept beside the estimate, so the search's own cost is exact.
"""

from __future__ import annotations

from typing import Any

__all__ = ["trial_attrs", "extrapolate", "extrapolate_runs"]

#: Windows whose cost grows with the number of training steps.
_SCALED = ("train",)


def extrapolate(summary: dict[str, Any]) -> tuple[float, float]:
    """Energy (kWh) and time (s) a full-fidelity run would take, from a (partial) run."""
    energies, times = extrapolate_runs(summary)
    return sum(energies) / len(energies), sum(times) / len(times)


def extrapolate_runs(summary: dict[str, Any]) -> tuple[list[float], list[float]]:
    """Full-run energy (kWh) and time (s) of each repeat, so spreads share the estimate's basis."""
    runs = summary["runs"]
    energies, times = [], []
    for run in runs:
        factor = run["planned_steps"] / max(run["train_steps"], 1) if run["fidelity"] < 1 else 1.0
        e = t = 0.0
        for name, stage in run["stages"].items():
            scale = factor if name in _SCALED else 1.0
            e += stage["energy_kwh"] * scale
            t += stage["duration_s"] * scale
        energies.append(e)
        times.append(t)
    return energies, times


def trial_attrs(summary: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly user attributes of a measured trial (before deltas are known)."""
    from greensearch.pipeline import describe

    energies, durations = extrapolate_runs(summary)
    e_stats = describe(energies)
    energy, duration = e_stats["mean"], sum(durations) / len(durations)
    return {
        "energy_kwh": energy,
        "duration_s": duration,
        "energy_kwh_spent": sum(r["energy_kwh"] for r in summary["runs"]),
        "duration_s_spent": sum(r["duration_s"] for r in summary["runs"]),
        "energy_kwh_std": e_stats["std"],
        "energy_kwh_ci95": [e_stats["ci95_low"], e_stats["ci95_high"]],
        "co2_kg": summary["co2_kg"],
        "stages": {name: {"energy_kwh": s["energy_kwh"], "duration_s": s["duration_s"]}
                   for name, s in summary["stages"].items()},
        "f1": summary["metrics"]["f1"],
        "f1_weighted": summary["metrics"]["f1_weighted"],
        "accuracy": summary["metrics"]["accuracy"],
        "degenerate": summary["metrics"]["degenerate"],
        "meter": summary["meter"]["name"],
        "method": summary["meter"]["method"],
        "repeats": summary["repeats"],
        "train_steps": summary["runs"][0]["train_steps"],
        "planned_steps": summary["runs"][0]["planned_steps"],
        "notes": summary.get("notes", []),
        "energy_kwh_runs": energies,
        "device": summary.get("device", {}).get("type", "?"),
    }
