"""The README's main command, ``greensearch optimize``, as a subprocess on the real pipeline.

A tiny study (a 4-layer, hidden-32 model on 300 rows) with two knobs, so the whole command
(baseline, singles, finals in rounds) trains for real in about a minute on 2 cores.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import optuna

from greensearch.record import TrialRecord
from tests.conftest import TINY_ARCH

ROOT = Path(__file__).resolve().parents[2]
BUDGET_PCT = 45.0  # binds on this study's wide one-seed intervals: see test_optimize_e2e.py
KNOBS = ("fast_tokenizer", "layer_prune")


def _study_file(folder: Path, dataset: Path) -> Path:
    arch = "\n".join(f"{k} = {v}" for k, v in TINY_ARCH.items())
    path = folder / "tiny.toml"
    path.write_text(
        f'name = "tiny"\ndataset = "{dataset}"\nmax_length = 64\nepochs = 1\n'
        f"batch_size = 16\neval_batch_size = 64\nlearning_rate = 1e-3\n"
        f"[model_config]\n{arch}\n"
    )
    return path


def _optimize(cwd: Path, study: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        sys.executable,
        "-m",
        "greensearch",
        "optimize",
        "--study",
        str(study),
        "--budget-f1",
        f"-{BUDGET_PCT:g}%",
        "--include",
        ",".join(KNOBS),
        "--n-trials",
        str(1 + len(KNOBS)),  # the baseline and each knob alone: the seeds, no sampling
        "--fidelity",
        "0.5",
        "--baseline-repeats",
        "2",
        "--repeats",
        "2",
        "--max-rounds",
        "2",  # fixed rounds: the looks beyond them are tested on replays (test_sequential)
        "--near-misses",
        "1",  # every short-run verdict on 2 seeds is uncertain: the best uncertain one goes on
        "--confidence",
        "0.8",  # 2 seeds per arm leave the seed part 1 degree of freedom
        "--meter",
        "codecarbon",
        "--idle-seconds",
        "0",
        *extra,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=cwd)


def _pct(value: float) -> str:
    return f"{value:+.1f}%"


def test_main_command_prints_the_oracle_its_verdict_and_intervals(tmp_path, tiny_csv):
    study = _study_file(tmp_path, tiny_csv)
    work = tmp_path / "clone"  # stands for a fresh clone: the command's default outputs land here
    work.mkdir()
    shutil.copy(ROOT / ".gitignore", work / ".gitignore")

    text = _optimize(work, study)
    assert text.returncode == 0, text.stderr
    assert "Traceback" not in text.stderr

    # Its default outputs (the study database, the run records) are all ignored by git.
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        assert status.stdout.splitlines() == ["?? .gitignore"]
    runs_file = work / "greensearch-results.jsonl"
    n_runs = len(runs_file.read_text().splitlines())
    storage = f"sqlite:///{work / 'studies' / 'tiny-f1-45.db'}"

    # The same command again resumes the finished study: no new run, the same answer as JSON.
    proc = _optimize(work, study, "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(runs_file.read_text().splitlines()) == n_runs
    result = json.loads(proc.stdout)

    # The study's trial counts, from the storage itself.
    trials = optuna.load_study(study_name="tiny-f1-45", storage=storage).get_trials()
    records = [TrialRecord.from_trial(t) for t in trials]
    search = [r for r in records if r.in_search]
    finals = [r for r in records if r.is_final]
    assert [r.phase for r in search] == ["baseline", "single", "single"]
    assert {r.knobs for r in search[1:]} == {"fast_tokenizer", "layer_prune=2:top"}
    # the baseline and one or two bundles (finalist and near miss) at full fidelity
    assert finals[0].is_baseline and 2 <= len(finals) <= 3
    assert {r.knobs for r in finals[1:]} <= {"fast_tokenizer", "layer_prune=2:top"}
    # Runs: 2 baseline seeds and one run per single at fidelity 0.5, then two rounds of
    # every final at full fidelity.
    assert n_runs == 2 + 2 + 2 * len(finals)
    assert (result["n_trials"], result["n_complete"], result["n_pruned"], result["n_failed"]) == (
        3,
        3,
        0,
        0,
    )
    assert result["budget_f1_pct"] == -BUDGET_PCT

    # The oracle is the finalist measured at full fidelity, its verdict drawn from its
    # stored one-sided bounds (feasible: the lower bound is within the budget).
    oracle = result["oracle"]
    assert oracle is not None, result.get("not_confirmed")
    final = next(r for r in finals if r.knobs == oracle["knobs"])
    assert oracle["trial"] == final.number
    assert final.delta_f1_bounds_pct is not None
    lower, _upper = final.delta_f1_bounds_pct
    assert lower >= -BUDGET_PCT and oracle["f1_verdict"] == "feasible"
    ci_low, ci_high = oracle["delta_f1_ci95_pct"]
    assert ci_low <= oracle["delta_f1_pct"] <= ci_high and ci_low <= lower
    assert oracle["n_seeds"] == 2 and oracle["repeats"] == 2
    e_low, e_high = oracle["delta_energy_ci95_pct"]
    assert e_low <= oracle["delta_energy_pct"] <= e_high

    # The text output says the same.
    out = text.stdout
    assert out.splitlines()[0] == (
        f"study tiny-f1-45: 3 search trials (3 measured or reused, 0 pruned, 0 failed, "
        f"0 model-guided), F1 budget -{BUDGET_PCT:g}%"
    )
    assert f"oracle: {oracle['knobs']}\n" in out
    assert (
        f"ΔEnergy {_pct(oracle['delta_energy_pct'])} (95% CI {_pct(e_low)} .. {_pct(e_high)})"
        in out
    )
    # the verdict with the one-sided bound that decided it, beside the two-sided interval
    decided = f"feasible: lower 80% bound {lower:+.1f}% >= -{BUDGET_PCT:.1f}%"
    assert oracle["f1_decided_by"] == decided
    assert re.search(
        rf"ΔF1 {re.escape(_pct(oracle['delta_f1_pct']))} \(95% CI "
        rf"{re.escape(_pct(ci_low))} \.\. {re.escape(_pct(ci_high))}, 2 seeds, bootstrap share "
        rf"within budget \d+%; F1 [0-9.]+\): {re.escape(decided)}; 2 full-fidelity runs in rounds",
        out,
    )
    assert f"  oracle rule: {result['oracle_rule']}" in out
    # what the task resolves, for the finals and for a search trial with its 80 % power
    assert (
        f"F1 resolution of the finals: {result['f1_resolution_pct']:.2f}% (seeds vs the "
        "baseline's seeds)" in out
    )
    power = result["search_f1_power_pct"]
    assert power is not None and power >= result["search_f1_resolution_pct"]
    assert (
        f"F1 resolution of a search trial: {result['search_f1_resolution_pct']:.2f}% (one run vs "
        f"the baseline's seeds, fidelity 0.5)" in out
    )
    assert f"; 80% power from {power:.2f}%" in out
    assert "meter: codecarbon (estimated)" in out
