"""Turn a run summary into what a trial stores: full-run estimates and raw spend.

At fidelity ``f`` a trial trains for a fraction of the planned steps. Its energy and
time are extrapolated to the full run through the training window only; the other
stages do not depend on the step count. Where the run timed its steps (``step_clock``),
the window's one-off part (set-up, the first step's warm-up or compile) is kept once and
only the later steps are scaled: ``window - Σ steps + first + (planned - 1) x steady``
(steady: trimmed mean of the later steps, batch fetching included), energy at the
window's average power (exact for a constant-power estimate; with a measured meter, a
low-power set-up in a short window makes the energy estimate slightly low). Without step
times the whole window is scaled by
``planned_steps / train_steps``, which multiplies the one-off part too. A short run also
predicts only a share of the test split (``greensearch.pipeline._eval_subset``): where
its engine timed the batches (``greensearch.pipeline._clocks``) the eval window is
extrapolated by the same rule, per batch, so its one-off work (set-up, a reload, an
export) is kept once; otherwise it is scaled by ``test_examples / eval_examples``, which
overstates that work (the finals measure it whole). A user's script is one window (the
whole process); where it reported its training loop's seconds, that part is scaled to
the planned steps and the rest (imports, loading, predicting) kept once, energy at the
window's average power; where it did not, the window is taken as measured. What was
really spent is kept beside the estimate, so the search's own cost is exact.
"""

from __future__ import annotations

import math
from typing import Any

from greensearch.schema import SCRIPT_WINDOW

__all__ = ["SCALED_WINDOWS", "extrapolate", "extrapolate_runs", "trial_attrs", "window_scales"]

#: Windows a short run shortens: training (steps), eval (test examples predicted), and a
#: user's script (its training loop, where it reported the loop's seconds).
SCALED_WINDOWS = ("train", "eval", SCRIPT_WINDOW)


def extrapolate(summary: dict[str, Any], *, per_step: bool = True) -> tuple[float, float]:
    """Energy (kWh) and time (s) a full-fidelity run would take, from a (partial) run.

    ``per_step=False`` applies the linear rule even where steps were timed (benchmarks
    compare the two, and a landscape keeps the rule its first rows used).
    """
    energies, times = extrapolate_runs(summary, per_step=per_step)
    return sum(energies) / len(energies), sum(times) / len(times)


def extrapolate_runs(
    summary: dict[str, Any], *, per_step: bool = True
) -> tuple[list[float], list[float]]:
    """Full-run energy (kWh) and time (s) of each repeat, so spreads share the estimate's basis."""
    energies, times = [], []
    for run in summary["runs"]:
        e = t = 0.0
        for name, stage in run["stages"].items():
            scale = _scale(run, name, stage["duration_s"], per_step)
            e += stage["energy_kwh"] * scale
            t += stage["duration_s"] * scale
        energies.append(e)
        times.append(t)
    return energies, times


def window_scales(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Factors that take each mean shortened window to its full-run value, per figure.

    Weighted over repeats so that the extrapolated stages add up to the mean extrapolated
    total exactly (the analysis shows stages at full-run scale).
    """
    scales: dict[str, dict[str, float]] = {}
    for name in SCALED_WINDOWS:
        scales[name] = {}
        for figure in ("energy_kwh", "duration_s"):
            raw = full = 0.0
            for run in summary["runs"]:
                window = run["stages"].get(name)
                if window is None:
                    continue
                raw += window[figure]
                full += window[figure] * _scale(run, name, window["duration_s"])
            scales[name][figure] = full / raw if raw > 0 else 1.0
    return scales


def _scale(run: dict[str, Any], window: str, window_s: float, per_step: bool = True) -> float:
    """Full-run / measured ratio of one window of one run."""
    if window == "train":
        return _window_scale(run, window_s, per_step)
    if window == "eval":
        return _eval_scale(run, window_s, per_step)
    if window == SCRIPT_WINDOW:
        return _script_scale(run, window_s)
    return 1.0


def _script_scale(run: dict[str, Any], window_s: float) -> float:
    """Full-run / measured ratio of a script's one window: its training loop's seconds
    (``script_train_s``) scaled by planned over made steps, the rest kept once."""
    loop = run.get("script_train_s")
    steps, planned = max(run.get("train_steps") or 1, 1), run.get("planned_steps") or 1
    if loop is None or run["fidelity"] >= 1 or steps >= planned or window_s <= 0:
        return 1.0
    loop = min(float(loop), window_s)
    return (window_s - loop + loop * planned / steps) / window_s


def _eval_scale(run: dict[str, Any], window_s: float, per_step: bool = True) -> float:
    """Full-run / measured ratio of the eval window of one run (a share predicted)."""
    predicted, total = run.get("eval_examples"), run.get("test_examples")
    if not predicted or not total or predicted >= total:
        return 1.0
    clock = run.get("eval_clock") if per_step else None
    batches = math.ceil(predicted / clock["batch_size"]) if clock else 0
    if not clock or window_s <= 0 or clock["n"] != batches or batches < 2:
        return total / predicted  # no steady batch apart from the first: the linear rule
    batch = clock["batch_size"]
    later = (total - batch) / batch * clock["steady_s"]
    full = window_s - clock["total_s"] + clock["first_s"] + later
    return max(full, 0.0) / window_s


def _window_scale(run: dict[str, Any], window_s: float, per_step: bool = True) -> float:
    """Full-run / measured ratio of the training window of one run."""
    steps, planned = max(run["train_steps"], 1), run["planned_steps"]
    if run["fidelity"] >= 1 or steps >= planned:
        return 1.0
    clock = run.get("step_clock") if per_step else None
    if not clock or clock["n"] != steps or window_s <= 0:
        return planned / steps
    full = window_s - clock["total_s"] + clock["first_s"] + (planned - 1) * clock["steady_s"]
    return max(full, 0.0) / window_s


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
        "stages": {
            name: {"energy_kwh": s["energy_kwh"], "duration_s": s["duration_s"]}
            for name, s in summary["stages"].items()
        },
        "f1": summary["metrics"]["f1"],
        "f1_weighted": summary["metrics"]["f1_weighted"],
        "accuracy": summary["metrics"]["accuracy"],
        "degenerate": summary["metrics"]["degenerate"],
        "meter": summary["meter"]["name"],
        "method": summary["meter"]["method"],
        "repeats": summary["repeats"],
        "train_steps": summary["runs"][0]["train_steps"],
        "window_scales": window_scales(summary),
        "planned_steps": summary["runs"][0]["planned_steps"],
        "notes": summary.get("notes", []),
        "energy_kwh_runs": energies,
        "seeds": [r.get("seed") for r in summary["runs"]],
        "predictions": [r["predictions"] for r in summary["runs"] if r.get("predictions")],
        "machine": (summary.get("machine") or {}).get("fingerprint"),
        "cpu_threads": (summary.get("machine") or {}).get("cpu_threads_used"),
        # windows the runs left out, estimated by the search (``_shared_windows``)
        "skipped_windows": summary["runs"][0].get("skipped_windows") or [],
    }
