"""``greensearch optimize`` end to end through the CLI, on a replayed landscape.

Only the pipeline is replaced (the landscape answers every run, a clock meters it): argument
parsing, the settings, the search, the JSON and text output and the exit codes are the real
ones.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
import pytest

import greensearch.search
from greensearch.cli import main
from greensearch.config import StudyConfig
from greensearch.search import ReplayRunner, SearchSettings
from tests.conftest import ClockMeter
from tests.search.landscape import landscape, make_registry, true_oracle

ARGS = ["--n-trials", "12", "--fidelity", "0.5", "--repeats", "2", "--baseline-repeats", "2"]


@pytest.fixture
def replayed(monkeypatch: pytest.MonkeyPatch) -> optuna.storages.InMemoryStorage:
    """Route the CLI's optimize() to the replay; return the storage it writes."""
    storage = optuna.storages.InMemoryStorage()
    real = greensearch.search.optimize

    def optimize(settings: SearchSettings, **kw: Any) -> Any:
        replay = settings.replace(study=StudyConfig(name="replay", source="<replay>"))
        return real(
            replay,
            storage=storage,
            meter=ClockMeter(),
            registry=make_registry(),
            run_fn=ReplayRunner(landscape()),
            **kw,
        )

    monkeypatch.setattr(greensearch.search, "optimize", optimize)
    return storage


def test_optimize_json_prints_the_oracle_and_exits_0(replayed, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["optimize", *ARGS, "--study-name", "cli", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["study_name"] == "cli" and doc["budget_f1_pct"] == -1.0
    assert doc["oracle"]["knobs"] == true_oracle(1.0) == "compile,prune=2,trim"
    assert doc["n_trials"] == 12 and doc["fidelity"] == 0.5
    stored = optuna.load_study(study_name="cli", storage=replayed)
    assert stored.metric_names == ["energy (kWh)", "F1 loss (%)"]


def test_optimize_text_names_the_oracle(replayed, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["optimize", *ARGS, "--study-name", "cli-text", "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("study cli-text: 12 search trials")
    assert "\noracle: compile,prune=2,trim\n" in out


def test_ctrl_c_exits_130_and_keeps_what_was_measured(replayed, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []

    class _Bar:
        def __init__(self, *, enabled: bool) -> None:
            pass

        def update(self, phase: str, done: int, total: int) -> None:
            seen.append(done)
            if done >= 4:
                raise KeyboardInterrupt

        def close(self) -> None:
            pass

    import greensearch.cli._optimize as cli_optimize

    monkeypatch.setattr(cli_optimize, "_Progress", _Bar)
    assert main(["optimize", *ARGS, "--study-name", "stopped"]) == 130
    err = capsys.readouterr().err
    assert "greensearch: interrupted; completed results were saved" in err
    done = optuna.load_study(study_name="stopped", storage=replayed).get_trials(
        states=(optuna.trial.TrialState.COMPLETE,)
    )
    assert len(done) == 4  # the four trials finished before the interrupt are stored
