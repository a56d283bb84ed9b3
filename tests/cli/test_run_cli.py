"""``greensearch run``: bad input is one line on stderr and exit 2; good input is JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_ARCH


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "greensearch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _study(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(body)
    return path


def _assert_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("greensearch: error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def _tiny_toml(dataset: str, **extra: str) -> str:
    arch = "\n".join(f"{k} = {v}" for k, v in TINY_ARCH.items())
    more = "\n".join(f"{k} = {v}" for k, v in extra.items())
    return (
        f'name = "tiny"\ndataset = "{dataset}"\nmax_length = 64\nbatch_size = 16\n{more}\n'
        f"[model_config]\n{arch}\n"
    )


def test_missing_study_file(tmp_path):
    _assert_usage_error(
        _cli("run", "--study", str(tmp_path / "nope.toml")), "nope.toml", "not found"
    )


def test_unknown_study_key(tmp_path):
    _assert_usage_error(
        _cli("run", "--study", str(_study(tmp_path, "epochz = 2\n"))), "unknown key", "epochz"
    )


def test_non_numeric_hyperparameter(tmp_path):
    _assert_usage_error(
        _cli("run", "--study", str(_study(tmp_path, 'learning_rate = "fast"\n'))),
        "learning_rate",
        "number",
    )


def test_dataset_path_missing(tmp_path):
    proc = _cli("run", "--study", str(_study(tmp_path, _tiny_toml(str(tmp_path / "gone.csv")))))
    _assert_usage_error(proc, "gone.csv")


def test_text_column_missing(tmp_path):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"code": ["a", "b"] * 20, "vul": [0, 1] * 20}).to_csv(csv, index=False)
    _assert_usage_error(
        _cli("run", "--study", str(_study(tmp_path, _tiny_toml(str(csv))))), "func_before"
    )


def test_label_column_missing(tmp_path):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"func_before": ["a", "b"] * 20, "y": [0, 1] * 20}).to_csv(csv, index=False)
    _assert_usage_error(_cli("run", "--study", str(_study(tmp_path, _tiny_toml(str(csv))))), "vul")


def test_empty_dataset(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("func_before,vul\n")
    _assert_usage_error(
        _cli("run", "--study", str(_study(tmp_path, _tiny_toml(str(csv))))), "empty"
    )


def test_single_class_dataset(tmp_path):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"func_before": [f"f{i}" for i in range(40)], "vul": [0] * 40}).to_csv(
        csv, index=False
    )
    _assert_usage_error(
        _cli("run", "--study", str(_study(tmp_path, _tiny_toml(str(csv))))), "class"
    )


def test_hub_dataset_when_offline(tmp_path):
    proc = _cli(
        "run",
        "--study",
        str(_study(tmp_path, _tiny_toml("bigvul"))),
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    _assert_usage_error(proc, "bigvul")


def test_hub_model_when_offline(tmp_path, tiny_csv):
    body = _tiny_toml(str(tiny_csv), model='"answerdotai/ModernBERT-base"')
    proc = _cli(
        "run",
        "--study",
        str(_study(tmp_path, body)),
        "--idle-seconds",
        "0",
        env={"HF_HUB_OFFLINE": "1"},
    )
    _assert_usage_error(proc, "answerdotai/ModernBERT-base")


@pytest.mark.parametrize(
    ("knobs", "needle"),
    [
        ("warp_drive", "unknown knob"),
        ("seq_len=abc", "seq_len"),
        ("layer_prune=9:bottom", "layer_prune"),
        ("lora,freeze", "cannot both be on"),
        ("pin_memory", "unavailable here"),
    ],
)
def test_bad_knobs_rejected_before_any_work(tmp_path, knobs, needle):
    proc = _cli("run", "--knobs", knobs, "--idle-seconds", "0")
    _assert_usage_error(proc, needle)


def test_unknown_variant():
    _assert_usage_error(_cli("run", "--variant", "V99"), "V99")


def test_variant_with_a_gpu_knob_names_the_missing_knob():
    _assert_usage_error(
        _cli("run", "--variant", "V7", "--idle-seconds", "0"), "precision=fp16", "CUDA"
    )


def test_run_json_on_a_tiny_study(tmp_path, tiny_csv):
    study = _study(tmp_path, _tiny_toml(str(tiny_csv)))
    results = tmp_path / "res.jsonl"
    proc = _cli(
        "run",
        "--study",
        str(study),
        "--json",
        "--idle-seconds",
        "0",
        "--results",
        str(results),
        "--output-dir",
        str(tmp_path / "runs"),
        "--fidelity",
        "0.3",
        "--repeats",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["seed"] for r in out["runs"]] == [42, 43] == out["seeds"]
    low, high = out["metrics"]["f1_ci95"]
    assert low < high and out["metrics"]["n_seeds"] == 2
    assert set(out["stages"]) >= {"data", "tokenize", "load", "train", "save", "eval"}
    for stage in ("data", "tokenize", "load", "train", "save", "eval"):
        assert out["stages"][stage]["energy_kwh"] > 0 and out["stages"][stage]["duration_s"] > 0
    assert out["meter"] == {**out["meter"], "name": "codecarbon", "method": "estimated"}
    assert set(out["metrics"]) >= {"f1", "f1_weighted", "accuracy", "degenerate"}
    assert out["co2_kg"] > 0 and out["device"]["type"] == "cpu"
    assert len(results.read_text().splitlines()) == 2
