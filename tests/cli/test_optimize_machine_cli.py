"""``greensearch optimize`` on a study measured on another machine: one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import optuna

from greensearch.machine import describe_machine
from greensearch.search._machines import BASELINE_MACHINE_ATTR


def test_a_study_from_another_machine_is_refused_before_any_work(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, directions=["minimize", "minimize"])
    other = {"fingerprint": "0123456789ab", "summary": "AMD EPYC, 2 cores, torch AVX2"}
    study.set_user_attr(BASELINE_MACHINE_ATTR, other)
    proc = subprocess.run(
        [sys.executable, "-m", "greensearch", "optimize", "--storage", url, "--study-name", "s"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    here = describe_machine().fingerprint
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "greensearch: error: study 's' measured its baseline on machine 0123456789ab "
        f"(AMD EPYC, 2 cores, torch AVX2) and this is machine {here} "
        f"({describe_machine().summary()}): energy from two machines cannot share one "
        f"baseline; start a new study on this machine (--study-name s-{here[:6]}) or add "
        f"--allow-mixed-machines to give it its own baseline in s@{here}"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "greensearch-results.jsonl").exists()  # nothing was measured
    assert optuna.load_study(study_name="s", storage=url).get_trials() == []
