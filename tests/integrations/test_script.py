"""``--script``: a user's program under the real search, its failures, its bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from greensearch.analysis import from_records
from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, StageFailedError
from greensearch.integrations import ScriptRunner, declared_knobs, script_search
from greensearch.knobs import default_registry
from greensearch.record import TrialRecord
from greensearch.search import SearchSettings
from greensearch.stats import RunPredictions
from tests.conftest import FakeMeasurement

SCRIPTS = Path(__file__).resolve().parent / "scripts"
SCRIPTED = SCRIPTS / "scripted.py"


class ScriptedMeter:
    """Energy of a window = what the scripted run wrote to its energy file; 1 s each."""

    name = "scripted"
    method = "estimated"
    idle_power_w = 0.0

    def __init__(self, energy_file: Path) -> None:
        self.energy_file = energy_file

    def begin(self, key: str) -> None:
        self.energy_file.unlink(missing_ok=True)

    def end(self, key: str) -> FakeMeasurement:
        energy = float(self.energy_file.read_text()) if self.energy_file.exists() else 0.0
        return FakeMeasurement(key, 1.0, energy, 0.0, 0.0, meter=self.name)

    def close(self) -> None:
        pass


@pytest.fixture
def scripted_env(tmp_path, monkeypatch) -> ScriptedMeter:
    energy = tmp_path / "energy.txt"
    monkeypatch.setenv("SCRIPTED_ENERGY", str(energy))
    return ScriptedMeter(energy)


def _search(tmp_path, meter, **changes):
    settings = SearchSettings(
        study=StudyConfig(name="ignored", source="<test>"),
        budget_f1_pct=-10.0,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        sampler="grid",
        n_trials=8,
        fidelity=0.5,
        repeats=2,
        max_rounds=2,  # fixed rounds: the looks beyond them are tested on replays
        baseline_repeats=2,
        near_misses=0,
        idle_seconds=0.0,
        results_path=str(tmp_path / "runs.jsonl"),
        **changes,
    )
    return script_search(settings, SCRIPTED, timeout_s=60, meter=meter)


def test_the_search_finds_the_cheapest_lossless_bundle_of_a_script(tmp_path, scripted_env):
    result = _search(tmp_path, scripted_env)
    trials = optuna.load_study(
        study_name=result.study_name, storage=f"sqlite:///{tmp_path / 's.db'}"
    ).get_trials()
    measured = [TrialRecord.from_trial(t) for t in trials if t.state.name == "COMPLETE"]
    # the search stays in the space the script declares (8 trials: the seeds, then the
    # guide's cores plus one knob: dynamic_padding + seq_len=128, then + seq_len=96)
    assert {r.knobs for r in measured} == {
        "",
        "seq_len=128",
        "seq_len=96",
        "dynamic_padding",
        "dynamic_padding,seq_len=128",
        "dynamic_padding,seq_len=96",
    }
    # energy is the script's own figure: 100 J x tokens/192 (x0.8 with dynamic padding)
    by_key = {r.knobs: r for r in measured if r.fidelity == 0.5}
    assert by_key["seq_len=128"].energy_kwh == pytest.approx(100 * 128 / 192 / 3.6e6)
    assert by_key["dynamic_padding,seq_len=128"].delta_energy_pct == pytest.approx(
        (0.8 * 128 / 192 - 1) * 100
    )
    # seq_len=96 makes 45 % errors instead of 10 %: judged infeasible on its predictions
    assert by_key["seq_len=96"].f1_verdict == "infeasible"
    assert by_key["seq_len=128"].f1_verdict == "feasible"
    assert result.budget_f1_pct == -10.0  # the user's sign
    assert result.oracle is not None
    assert result.oracle.knobs == "dynamic_padding,seq_len=128"
    assert result.oracle.row["delta_f1_pct"] == pytest.approx(0.0)  # same errors, same seeds
    # the records keep the predictions the paired bootstrap needs, per seed
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    base = [r for r in records if r["knobs"] == "" and r["fidelity"] == 1.0]
    assert sorted(r["seed"] for r in base) == [42, 43]
    kept = RunPredictions.from_run_record(base[0])
    assert kept is not None and len(kept.labels) == 400
    assert set(base[0]["stages"]) == {"script"}
    # the analysis reads them as any run records: energy per run, none per stage
    table = from_records(base[:1])
    assert table["energy_kwh"].iloc[0] == pytest.approx(100 / 3.6e6)
    assert math.isnan(table["energy_train_kwh"].iloc[0])


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("crash", "exited with code 1: CUDA out of memory (scripted)"),
        ("hang", "ran past --script-timeout 8 s"),
        ("silent", "reported nothing"),
    ],
)
def test_a_failing_run_fails_its_trial_with_the_reason(
    tmp_path, scripted_env, monkeypatch, mode, reason
):
    monkeypatch.setenv("SCRIPTED_FAIL", json.dumps({"dynamic_padding=on": mode}))
    settings = SearchSettings(
        study=StudyConfig(name="ignored", source="<test>"),
        budget_f1_pct=-10.0,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        n_trials=3,
        fidelity=0.5,
        baseline_repeats=1,
        include=("dynamic_padding", "seq_len"),
        idle_seconds=0.0,
        search_only=True,
    )
    result = script_search(settings, SCRIPTED, timeout_s=8, meter=scripted_env)
    trials = optuna.load_study(
        study_name=result.study_name, storage=f"sqlite:///{tmp_path / 's.db'}"
    ).get_trials()
    records = [TrialRecord.from_trial(t) for t in trials]
    failed = [r for r in records if r.state == optuna.trial.TrialState.FAIL]
    assert [r.knobs for r in failed] == ["dynamic_padding"]
    assert failed[0].error is not None and reason in failed[0].error
    # the study went on: the other single was measured after the failure
    done = {r.knobs for r in records if r.state == optuna.trial.TrialState.COMPLETE}
    assert done == {"", "seq_len=128"}


def test_runner_hands_the_bundle_seed_and_fidelity_over(tmp_path, scripted_env):
    echo = tmp_path / "echo.py"
    echo.write_text(
        "# greensearch: knobs=seq_len\n"
        "import json, os\n"
        "from greensearch import report_run, script_trial\n"
        "t = script_trial()\n"
        "open(os.environ['SCRIPTED_ENERGY'], 'w').write('1.0')\n"
        "report_run(predictions=[t.seed % 2, 1], labels=[0, 1], train_steps=3,\n"
        "           planned_steps=int(6 / t.fidelity))\n"
    )
    runner = ScriptRunner(echo, timeout_s=60)
    summary = runner(
        StudyConfig(seed=7), {"seq_len": "128"}, repeats=2, meter=scripted_env, fidelity=0.5
    )
    runs = summary["runs"]
    assert [r["seed"] for r in runs] == [7, 8]
    assert [r["metrics"]["accuracy"] for r in runs] == [0.5, 1.0]  # seed 7 predicts 1 for 0
    assert runs[0]["planned_steps"] == 12 and runs[0]["train_steps"] == 3
    assert runs[0]["knobs"] == "seq_len=128"


def test_bad_scripts_are_refused_before_anything_runs(tmp_path):
    registry = default_registry()
    with pytest.raises(ConfigError, match="not found"):
        declared_knobs(tmp_path / "nope.py", registry)
    with pytest.raises(ConfigError, match="declares no knobs"):
        declared_knobs(SCRIPTS / "undeclared.py", registry)
    with pytest.raises(ConfigError, match="unknown knob 'warp_drive'"):
        declared_knobs(SCRIPTS / "unknown_knob.py", registry)
    assert declared_knobs(SCRIPTED, registry) == ("seq_len", "dynamic_padding")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--script", "nope.py"], "script 'nope.py' not found"),
        (["--script", str(SCRIPTS / "undeclared.py")], "declares no knobs"),
        (["--script", str(SCRIPTS / "unknown_knob.py")], "unknown knob 'warp_drive'"),
        (["--script", str(SCRIPTED), "--include", "lora"], "does not declare"),
        (["--script", str(SCRIPTED), "--script-timeout", "0"], "--script-timeout must be"),
        (["--script", str(SCRIPTED), "--n-workers", "2"], "runs in one process"),
        (["--script-args", "--rows 8"], "--script-args needs --script"),
        (["--script", str(SCRIPTED), "--script-args", "--rows '8"], "No closing quotation"),
    ],
)
def test_cli_bad_script_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "greensearch",
            "optimize",
            "--meter",
            "rapl",
            *args,
            "--storage",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "x.db").exists()


def test_runner_keeps_a_scripts_entity_counts_and_scores_entity_f1(tmp_path, scripted_env):
    tagger = tmp_path / "tagger.py"
    tagger.write_text(
        "# greensearch: knobs=batch_size\n"
        "import os\n"
        "import greensearch\n"
        "open(os.environ['SCRIPTED_ENERGY'], 'w').write('1.0')\n"
        "gold = [['B-PER', 'I-PER', 'O'], ['O', 'B-LOC']]\n"
        "pred = [['B-PER', 'O', 'O'], ['O', 'B-LOC']]\n"
        "greensearch.report_run(entity_counts=greensearch.entity_counts(gold, pred))\n"
    )
    summary = ScriptRunner(tagger, timeout_s=60)(StudyConfig(seed=7), {}, meter=scripted_env)
    (run,) = summary["runs"]
    kept = RunPredictions.from_run_record(run)
    assert kept is not None and kept.metric == "entity_f1"
    # sentence 1: PER(0,1) missed and PER(0,0) wrong; sentence 2: LOC found
    assert [c.tolist() for c in kept.entity_counts()] == [[0, 1], [1, 0], [1, 0]]
    assert run["metrics"]["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))


def test_a_bad_report_fails_the_run_with_the_reporters_reason(tmp_path, scripted_env):
    vague = tmp_path / "vague.py"
    vague.write_text(
        "# greensearch: knobs=batch_size\n"
        "import greensearch\n"
        "greensearch.report_run(example_scores=[1.0, 0.0])\n"
    )
    with pytest.raises(StageFailedError, match="needs metric='exact_match' or 'accuracy'"):
        ScriptRunner(vague, timeout_s=60)(StudyConfig(seed=7), {}, meter=scripted_env)
