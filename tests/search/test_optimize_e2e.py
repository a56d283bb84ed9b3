"""The real pipeline under the search: a tiny study, three knobs, every phase once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import optuna
import pytest

from greensearch.record import attrs_of
from greensearch.search._f1_judging import kept_predictions
from greensearch.stats import f1_resolution
from tests.conftest import TINY_ARCH
from tests.search.run_search import run_search

#: The F1 budget (percent of the baseline F1 a bundle may lose). It has to bind on this
#: study's figures, where a search trial is one seed on a tiny test set, so its one-sided
#: ΔF1 bounds are wide: the fast_tokenizer and layer_prune=2:top singles measure +14.3 %
#: and data_fraction=0.25 (a quarter of the training data) loses 48.6 %. 45 % lies
#: between: the first two meet it, the third not.
BUDGET_PCT = 45.0
#: Two seeds leave the seed part one degree of freedom (Student t: 6.3 standard errors at
#: 95 %, 1.4 at 80 %): at 0.95 no bundle of this tiny task is resolved within any budget.
CONFIDENCE = 0.8
SINGLES = {"data_fraction=0.25", "layer_prune=2:top", "fast_tokenizer"}


def _verdict(a: dict) -> str:
    """The three-valued rule of ``greensearch.stats.judge``, from the stored bounds."""
    lower, upper = a["delta_f1_bounds_pct"]
    if a["degenerate"] or upper < -BUDGET_PCT:
        return "infeasible"
    return "feasible" if lower >= -BUDGET_PCT else "uncertain"


def test_optimize_runs_the_real_pipeline_end_to_end(tiny_study, clock_meter, tmp_path):
    storage = f"sqlite:///{tmp_path / 'e2e.db'}"
    result = run_search(
        tiny_study,
        budget_f1=f"-{BUDGET_PCT:g}%",
        n_trials=5,
        storage=storage,
        study_name="e2e",
        fidelity=0.5,
        repeats=2,
        max_rounds=2,  # fixed rounds: each verdict is the stored one (looks: test_sequential)
        baseline_repeats=2,
        finalists=1,
        near_misses=0,
        confidence=CONFIDENCE,
        meter=clock_meter,
        include=["data_fraction", "layer_prune", "fast_tokenizer"],
        results_path=tmp_path / "runs.jsonl",
    ).to_dict()
    assert result["budget_f1_pct"] == -BUDGET_PCT  # stored as the signed ΔF1 limit
    trials = optuna.load_study(study_name="e2e", storage=storage).get_trials()
    phases = [t.user_attrs["phase"] for t in trials]
    assert phases[:4] == ["baseline", "single", "single", "single"]
    assert {t.user_attrs["knobs"] for t in trials[1:4]} == SINGLES  # each first search value
    assert phases.count("final") == 2  # the baseline and one finalist, at full fidelity
    done = [(t, attrs_of(t)) for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    base = {a["fidelity"]: a for _, a in done if a["knobs"] == ""}
    assert sorted(base) == [0.5, 1.0]

    # Every trial's ΔF1 against the baseline of its own fidelity, and its verdict from its
    # stored bounds; Optuna's constraint stays the point estimate.
    for t, a in done:
        f1_base = base[a["fidelity"]]["f1"]
        assert a["delta_f1_pct"] == pytest.approx(100 * (a["f1"] - f1_base) / f1_base), t.number
        assert a["f1_verdict"] == _verdict(a), t.number
        assert a["feasible"] == (not a["degenerate"] and -a["delta_f1_pct"] <= BUDGET_PCT)

    # The budget binds: one single meets it, one does not, on both the point and the verdict.
    singles = {a["knobs"]: a for _, a in done if a["phase"] == "single"}
    # a value step (the next value of a single that saved beyond the noise) may follow
    assert set(singles) - SINGLES <= {"layer_prune=3:top", "fast_tokenizer", "data_fraction=0.5"}
    assert {k: a["f1_verdict"] for k, a in singles.items() if k in SINGLES} == {
        "data_fraction=0.25": "uncertain",
        "layer_prune=2:top": "feasible",
        "fast_tokenizer": "feasible",
    }
    assert singles["data_fraction=0.25"]["delta_f1_pct"] < -BUDGET_PCT
    assert singles["data_fraction=0.25"]["feasible"] is False
    assert singles["layer_prune=2:top"]["feasible"] is True

    # The finalist is the cheapest search bundle whose verdict is feasible (data_fraction's
    # never is), re-measured at full fidelity with both seeds; it is the oracle.
    search = [(t, a) for t, a in done if a["fidelity"] == 0.5 and a["knobs"]]
    cheapest = min(
        (t for t, a in search if a["f1_verdict"] == "feasible"), key=lambda t: t.values[0]
    )
    finalist = cheapest.user_attrs["knobs"]
    assert "data_fraction" not in finalist
    finals = {a["knobs"]: a for _, a in done if a["phase"] == "final"}
    assert set(finals) == {"", finalist}
    assert all(a["fidelity"] == 1.0 and a["repeats"] == 2 for a in finals.values())
    assert all(a["seeds"] == [42, 43] and len(a["predictions"]) == 2 for a in finals.values())
    oracle = result["oracle"]
    final_trial = next(t for t, a in done if a["phase"] == "final" and a["knobs"] == finalist)
    if finals[finalist]["f1_verdict"] == "feasible":  # confirmed at full fidelity: the oracle
        assert oracle["knobs"] == finalist and oracle["trial"] == final_trial.number
        assert oracle["f1_verdict"] == _verdict(finals[finalist]) == "feasible"
        assert (
            oracle["n_seeds"] == 2
            and oracle["delta_f1_ci95_pct"] == finals[finalist]["delta_f1_ci95_pct"]
        )
    else:  # which single is cheapest follows the clock: a finalist its seeds leave unsure
        assert oracle is None  # is no oracle (1 CI run in 3 on 2026-12-07)
    assert result["f1_resolution_pct"] == base[1.0]["f1_resolution_pct"]
    # A search trial is one run against the baseline's seeds; the finals, seeds against seeds.
    search_runs = kept_predictions(base[0.5])
    expected = f1_resolution(
        search_runs, confidence=CONFIDENCE, n_resamples=4_000, design="one_vs_n"
    )
    assert result["search_f1_resolution_pct"] == pytest.approx(expected)
    assert result["search_f1_resolution_pct"] == base[0.5]["f1_resolution_pct"]
    assert result["search_f1_power_pct"] == base[0.5]["f1_power_pct"]
    assert result["search_f1_power_pct"] > result["search_f1_resolution_pct"]
    assert (base[0.5]["f1_resolution_design"], base[1.0]["f1_resolution_design"]) == (
        "one_vs_n",
        "n_vs_n",
    )
    checked = {e["knobs"] for e in result["extrapolation"]["finalists"]}
    assert checked == {"", finalist}

    # Every run appended once: the search trials' runs (seeds 42, 43, ... per repeat), then
    # the finals, run in two rounds of the baseline and the finalist (seeds 42 and 43).
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    made = Counter((r["fidelity"], r["knobs"], r["seed"]) for r in runs)
    expected = Counter(
        (0.5, a["knobs"], 42 + r)
        for _, a in done
        if a["fidelity"] == 0.5 and a.get("reused_from") is None
        for r in range(a["repeats"])
    )
    expected.update((1.0, knobs, seed) for knobs in ("", finalist) for seed in (42, 43))
    assert made == expected
    assert result["search_energy_kwh"] > 0


def test_optimize_cli_rejects_a_bad_budget_before_any_work():
    proc = subprocess.run(
        [sys.executable, "-m", "greensearch", "optimize", "--budget-f1", "-1 percent"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "greensearch: error: bad F1 budget '-1 percent'; write the accepted F1 loss in "
        "percent, e.g. -1% or 0.5%"
    ]


def test_study_file_can_exclude_knobs_from_the_search(tmp_path, tiny_csv, clock_meter):
    from greensearch.config import load_study

    arch = "\n".join(f"{k} = {v}" for k, v in TINY_ARCH.items())
    path = tmp_path / "s.toml"
    path.write_text(
        f'name = "t"\ndataset = "{tiny_csv}"\nmax_length = 64\n'
        f'search_exclude = ["dynamic_padding"]\n[model_config]\n{arch}\n'
    )
    study = load_study(path)
    assert study.search_exclude == ("dynamic_padding",)
    storage = optuna.storages.InMemoryStorage()
    from greensearch.search._replay import Point, ReplayRunner

    runner = ReplayRunner({"": Point(1.0, 1.0, 0.9), "fast_tokenizer": Point(0.9, 0.9, 0.9)})
    run_search(
        study,
        n_trials=2,
        storage=storage,
        study_name="x",
        meter=clock_meter,
        include=["dynamic_padding", "fast_tokenizer"],
        run_fn=runner,
        finalists=1,
        repeats=1,
        baseline_repeats=1,
    )
    space = optuna.load_study(study_name="x", storage=storage).user_attrs["space"]
    assert list(space) == ["fast_tokenizer"]
