"""The real pipeline under the search: a tiny study, three knobs, every phase once."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna

from greensearch.schema import attrs_of
from tests.conftest import TINY_ARCH
from tests.search.run_search import run_search


def test_optimize_runs_the_real_pipeline_end_to_end(tiny_study, clock_meter, tmp_path):
    storage = f"sqlite:///{tmp_path / 'e2e.db'}"
    result = run_search(
        tiny_study,
        budget_f1="-50%",
        n_trials=5,
        storage=storage,
        study_name="e2e",
        fidelity=0.5,
        repeats=2,
        baseline_repeats=2,
        finalists=1,
        near_misses=0,
        meter=clock_meter,
        include=["dynamic_padding", "layer_prune", "fast_tokenizer"],
        results_path=tmp_path / "runs.jsonl",
    ).to_dict()
    study = optuna.load_study(study_name="e2e", storage=storage)
    phases = [t.user_attrs["phase"] for t in study.get_trials()]
    assert phases[:4] == ["baseline", "single", "single", "single"]
    assert phases.count("final") == 2  # the baseline and one finalist, at full fidelity
    finals = [attrs_of(t) for t in study.get_trials() if t.user_attrs["phase"] == "final"]
    assert all(a["fidelity"] == 1.0 and a["repeats"] == 2 for a in finals)
    assert all(a["seeds"] == [42, 43] and len(a["predictions"]) == 2 for a in finals)
    oracle = result["oracle"]
    assert oracle is not None and oracle["knobs"] != ""
    # The oracle is confirmed on its paired interval, over both seeds.
    low, high = oracle["delta_f1_ci95_pct"]
    assert low <= oracle["delta_f1_pct"] <= high and oracle["n_seeds"] == 2
    assert oracle["f1_verdict"] == "feasible"
    assert result["f1_resolution_pct"] is not None and result["f1_resolution_pct"] >= 0
    checked = {e["knobs"] for e in result["extrapolation"]["finalists"]}
    assert checked == {"", result["oracle"]["knobs"]}
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    # baseline x2 + 3 singles + 1 sampled + finals (2 x 2): every run appended, none twice
    assert len(runs) >= 2 + 3 + 4
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
