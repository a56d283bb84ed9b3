"""Smoke tests of the benchmark scripts' ``--quick`` modes, and checks of their arithmetic."""

from __future__ import annotations

import json
import math
import re

import pytest

from benchmarks import landscape_paper, overhead, search_efficiency, search_reliability
from benchmarks.search_efficiency import Landscape, hypervolume, run_grid, run_random
from greensearch.search import Point

_NUM = r"(\d+\.\d+|inf|n/a)"


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    return lines[-1]


def test_search_efficiency_quick_prints_parsable_ratios(capsys):
    assert search_efficiency.main(["--quick"]) == 0
    last = _last_line(capsys)
    m = re.fullmatch(rf"RATIOS paper: greensearch/grid={_NUM} greensearch/random={_NUM}", last)
    assert m, last
    grid, rand = (float(x) for x in m.groups())
    assert 0 < grid < 1 and 0 < rand < 1  # greensearch needs fewer trials than either


def test_search_reliability_quick_prints_shares_that_add_up(capsys):
    assert search_reliability.main(["--quick"]) == 0
    last = _last_line(capsys)
    m = re.fullmatch(
        r"RELIABILITY config=today draws=(\d+) within10=(\d+)% infeasible=(\d+)% "
        r"costly=(\d+)% none=(\d+)% bet_within10=(\d+)% bet_infeasible=(\d+)% "
        r"cost_median=(\d+\.\d) bre",
        last,
    )
    assert m, last
    draws = int(m.group(1))
    shares = [int(x) for x in m.group(2, 3, 4, 5)]
    assert draws == search_reliability.QUICK_DRAWS
    counts = [round(s * draws / 100) for s in shares]
    # each share is a whole number of draws, and every draw has exactly one outcome
    assert [round(100 * c / draws) for c in counts] == shares
    assert sum(counts) == draws
    # the finals alone run the baseline at full fidelity `repeats` times
    # the best bet is one named bundle or none: its two shares fit in the draws
    assert int(m.group(6)) + int(m.group(7)) <= 100
    assert float(m.group(8)) > 1.0


def test_overhead_quick_prints_parsable_ratios(capsys):
    assert overhead.main(["--quick"]) == 0
    last = _last_line(capsys)
    m = re.fullmatch(
        r"RATIOS meter=(\S+) meter_implied=(\S+) orchestration_sqlite=(\S+) "
        r"orchestration_memory=(\S+)",
        last,
    )
    assert m, last
    meter, implied, sqlite, memory = (float(x) for x in m.groups())
    assert 0.5 < meter < 2 and 1 <= implied < 1.01
    assert 0 < memory < sqlite  # SQLite commits cost more than dict writes


def test_paper_model_reproduces_the_rows_it_was_calibrated_on():
    model = landscape_paper.derive()
    for variant, on in (
        ("V25", ("grad_accumulation", "precision", "grad_checkpointing")),
        ("V26", ("layer_prune", "seq_len", "torch_compile")),
        ("V28", ("layer_prune", "torch_compile", "precision")),
        ("V23", ("attention", "pin_memory", "optimizer", "grad_accumulation")),
    ):
        le, _, f1 = model.effect(on)
        assert le == pytest.approx(model.rows[variant][0], abs=1e-12)
        assert f1 == pytest.approx(model.rows[variant][2], abs=1e-12)
    # V25 (gradient accumulation + fp16 + checkpointing): +34.4 % energy in Table I
    assert math.exp(
        model.effect(("grad_accumulation", "precision", "grad_checkpointing"))[0]
    ) == pytest.approx(1.344, abs=1e-9)


def test_paper_landscape_has_every_combination_and_lora_is_degenerate():
    points, registry, noise = landscape_paper.paper_landscape()
    assert len(points) == 2**13 and len(registry) == 13
    assert noise == pytest.approx(0.00247, abs=1e-5)
    assert all(p.degenerate == ("lora=" in key) for key, p in points.items())


def _toy() -> Landscape:
    from benchmarks._common import noop_registry

    registry, _ = noop_registry({"fast_tokenizer": "on", "torch_compile": "on"})
    pts = {
        "": Point(1.0, 1.0, 0.90),
        "fast_tokenizer": Point(0.5, 1.0, 0.90 * 0.995),
        "torch_compile": Point(0.8, 1.0, 0.90 * 1.005),
        "fast_tokenizer,torch_compile": Point(0.2, 1.0, 0.5),
    }  # cheapest, over budget
    return Landscape("toy", "toy", pts, registry, 0.0, fidelity=1.0)


def test_hypervolume_by_hand():
    land = _toy()
    assert land.opt_key == "fast_tokenizer"
    # points (0.5, 0.5% loss) and (0.8, -0.5% loss), reference (1, 1%):
    # strip of the first: 0.5 * 0.5; the second adds (1 - 0.8) * (0.5 - -0.5)
    assert hypervolume(land, ["fast_tokenizer", "torch_compile"]) == pytest.approx(0.25 + 0.2 * 1.0)
    assert land.hv_max == pytest.approx(0.45)


def test_grid_visits_each_bundle_once_and_random_reuses():
    land = _toy()
    grid = run_grid(land, seed=1, cap=100)
    assert sorted(k for k in grid.measured if k is not None) == sorted(land.points)
    rand = run_random(land, seed=1, cap=60)
    measured = [k for k in rand.measured if k is not None]
    # stops once the minimum is measured and the last hypervolume checkpoint (50) is reached
    assert len(measured) == len(set(measured)) and len(rand.measured) == 50
    assert rand.spent_until(math.inf) == pytest.approx(sum(land.spent(k) for k in measured))


@pytest.mark.slow
def test_fidelity_quick(capsys):
    from benchmarks import fidelity

    assert fidelity.main(["--quick"]) == 0
    assert re.fullmatch(
        r"RATIOS energy_median_err_pct=\S+ energy_worst_err_pct=\S+ "
        r"time_median_err_pct=\S+",
        _last_line(capsys),
    )


@pytest.mark.slow
def test_landscape_measured_quick_resumes(tmp_path, capsys):
    from benchmarks import landscape_measured
    from benchmarks._common import read_csv

    out = tmp_path / "l.csv"
    assert landscape_measured.main(["--quick", "--out", str(out), "--limit", "1"]) == 0
    rows, meta = read_csv(out)
    assert len(rows) == 1 and meta["method"] in ("measured", "estimated")
    assert landscape_measured.main(["--quick", "--out", str(out)]) == 0
    rows, _ = read_csv(out)
    assert sorted((r["knobs"], r["repeat"]) for r in rows) == [
        ("", "1"),
        ("", "2"),
        ("layer_prune=2:top", "1"),
    ]


def test_paper_comparison_pairs_isolated_rows_and_ranks(tmp_path, capsys):
    from benchmarks import paper_comparison
    from benchmarks._common import read_csv, write_csv

    table, _ = read_csv(paper_comparison.TABLE)
    paper = {r["variant"]: float(r["delta_total_pct"]) for r in table}
    # a ranking that orders the paired knobs exactly as the paper does (rho must be 1),
    # plus a knob whose paper row is confounded (left out) and the baseline
    rows = [
        {"knobs": "", "delta_energy_pct": 0.0},
        {"knobs": "lora=attn_mlp:8:16", "delta_energy_pct": -50.0},
    ]
    for knob, value in (
        ("grad_checkpointing", "grad_checkpointing"),
        ("torch_compile", "torch_compile"),
        ("attention", "attention=sdpa"),
        ("fast_tokenizer", "fast_tokenizer"),
    ):
        rows.append(
            {"knobs": value, "delta_energy_pct": paper[paper_comparison.PAPER_ROW[knob][0]] / 2}
        )
    ranking = tmp_path / "ranking.csv"
    write_csv(ranking, rows, {"meter": "test", "method": "estimated", "repeats": "1"})
    assert paper_comparison.main(["--ranking", str(ranking), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "lora" not in out.split("left out")[0]  # V2 also switched on bf16
    m = re.search(r"RHO spearman_all=(\S+) \(n=(\d+)\) spearman_same_value=(\S+) \(n=(\d+)\)", out)
    assert m and float(m[1]) == pytest.approx(1.0) and m[2] == "4" and m[4] == "4"


def test_workers_benchmark_runs_the_same_trials_with_1_and_2_workers(capsys):
    from benchmarks import workers

    assert workers.main(["--dry-run", "--rounds", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [
        "round 1, 1 worker(s)",
        "round 1, 2 worker(s)",
        "round 2, 2 worker(s)",
        "round 2, 1 worker(s)",
    ]
    # identical but for the worker count and the folder: the same 4 seed trials
    stripped = {re.sub(r"/r\d-w\d|--n-workers \d", "", ln.split(": ", 1)[1]) for ln in lines}
    assert len(stripped) == 1
    assert "--n-trials 4 " in lines[0] and "--no-guide --no-prune --search-only" in lines[0]
    rows = [
        {"round": 1, "workers": 1, "wall_s": 100.0, "energy_kwh": 2.0},
        {"round": 1, "workers": 2, "wall_s": 105.0, "energy_kwh": 2.2},
        {"round": 2, "workers": 2, "wall_s": 90.0, "energy_kwh": 1.8},
        {"round": 2, "workers": 1, "wall_s": 100.0, "energy_kwh": 2.0},
    ]
    assert workers.ratios(rows) == pytest.approx({"wall_s": 0.975, "energy_kwh": 1.0})


def test_workers_benchmark_reads_a_command_s_records(tmp_path):
    import json
    import sys

    from benchmarks import workers
    from tests.conftest import ClockMeter

    record = {"energy_kwh": 0.001, "duration_s": 3.0, "machine": {"cpu_threads_used": 1}}
    script = f"open('runs.jsonl', 'w').write({json.dumps(json.dumps(record))} + '\\n')"
    row = workers.measure([sys.executable, "-c", script], tmp_path, ClockMeter())
    assert row["runs"] == 1 and row["run_s"] == 3.0 and row["threads"] == [1]
    assert row["records_energy_kwh"] == 0.001
    assert row["energy_kwh"] == pytest.approx(10.0 * row["wall_s"] / 3.6e6, rel=0.2)


def test_hand_picked_stacks_savers_without_a_confident_f1_loss():
    import optuna

    from benchmarks.vs_handpicked import hand_picked
    from greensearch.knobs import default_registry

    def single(knobs: str, delta_energy: float, verdict: str) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(
            values=[1.0, 0.0],
            user_attrs={
                "phase": "single",
                "knobs": knobs,
                "delta_energy_pct": delta_energy,
                "f1_verdict": verdict,
            },
        )

    trials = [
        single("seq_len=128", -40.0, "uncertain"),  # saves, loss not confident: picked
        single("lora=attn_mlp:8:16", -30.0, "feasible"),  # saves: picked
        single("freeze=embeddings", -35.0, "feasible"),  # saves more, but conflicts with lora
        single("attention=sdpa", -20.0, "infeasible"),  # confident F1 loss: left out
        single("fast_tokenizer", 3.0, "feasible"),  # costs energy alone: left out
    ]
    picked = hand_picked(trials, default_registry())
    # freeze (-35 %) beats lora (-30 %) in their conflict: the larger saver stays
    assert default_registry().canonical(picked) == "freeze=embeddings:2,seq_len=128"


def test_drift_probe_report_takes_out_drift_the_probe_sees_and_only_that():
    from benchmarks.drift_probe import report

    def rows(energy_of):
        out = []
        for i, p in enumerate((0.8, 1.0, 1.3, 0.9, 1.1)):
            row = {"probe_before_s": p, "probe_s": p, "energy_kwh": energy_of(i, p)}
            row.update(
                {
                    "train_s": 10 * p,
                    "eval_s": 5 + i % 2,
                    "validate_s": 3.0 + i,
                    "tokenize_s": 2.0 + 0.01 * i,
                }
            )
            out.append(row)
        return out

    def cvs(lines):
        return [float(x) for x in re.findall(r"CV (\d+\.\d+) %", "\n".join(lines[:3]))]

    raw, before, both = cvs(report(rows(lambda i, p: 0.5 * p)))  # energy moves with the probe
    assert raw > 15 and before < 1e-6 and both < 1e-6
    raw, before, _ = cvs(report(rows(lambda i, p: 0.5 + 0.05 * (i % 2))))  # it does not
    assert before > raw


def test_shared_windows_leave_only_the_train_windows_spread_and_the_anchor_takes_its_drift():
    from benchmarks.drift_probe import shared_report

    def cvs(rows):
        return [
            float(x) for x in re.findall(r"CV (\d+\.\d+) %", "\n".join(shared_report(rows, 0.25)))
        ]

    drift = (0.8, 1.0, 1.3, 0.9, 1.1)
    # train steady, the other windows moving: sharing them leaves no spread at all
    rows = [
        {"train_s": 10.0, "eval_s": 5 * d, "validate_s": 3 * d, "tokenize_s": 2 * d} for d in drift
    ]
    own, eval_shared, all_shared, anchored = cvs(rows)
    assert own > 5 and all_shared < 1e-6 and 0 < eval_shared < own
    # train drifting as tokenize does (exponent 0.5): only the anchor takes it out
    rows = [
        {"train_s": 10 * d**0.5, "eval_s": 5.0, "validate_s": 3.0, "tokenize_s": 2 * d}
        for d in drift
    ]
    own, _, all_shared, anchored = cvs(rows)
    assert all_shared > 1 and anchored < 1e-6
    assert "exponent 0.50" in shared_report(rows, 0.25)[3]


def test_drift_probe_reanalyses_a_stored_result_as_a_script(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    rows = [
        {"run": i, "probe_before_s": 1.0 + i / 10, "probe_s": 1.0 + i / 9, "energy_kwh": 1.0 + i}
        | {"train_s": 10.0 + i, "eval_s": 5.0 + i % 2, "validate_s": 3.0 - i / 10}
        | {"tokenize_s": 2.0 + i / 5}
        for i in range(4)
    ]
    stored = tmp_path / "probe.txt"
    head = (
        "drift probe: 4 identical baseline runs (same seed) of study x at fidelity 0.5, 2 torch\n"
    )
    stored.write_text(head + "runs:\n" + "".join(json.dumps(r) + "\n" for r in rows))
    out = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "drift_probe.py"), "--reanalyse", str(stored)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    # at fidelity 0.5 (the header's) train and eval count twice
    assert "eval window shared" in out
    own = [2 * (10 + i) + 2 * (5 + i % 2) + 3 - i / 10 + 2 + i / 5 for i in range(4)]
    mean = sum(own) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in own) / 3)
    assert f"CV {100 * sd / mean:.2f} %" in out


def test_short_run_cost_quick_prints_parsable_ratios(capsys):
    from benchmarks import short_run_cost

    assert short_run_cost.main(["--quick"]) == 0  # 1: the two runs predicted differently
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("RATIOS")][-1]
    figures = dict(item.split("=") for item in line.split()[1:])
    assert figures["identical"] == "1/1"
    # Parsable and positive, not "< 1": at --quick's size the two runs' energies can tie
    # (a fresh clone's CI printed 1.0000); that the pass costs something is the
    # benchmark's own finding, measured in rounds, not a unit test's.
    assert float(figures["energy_without_over_with"]) > 0
    assert 0 <= float(figures["validate_share"]) < 1
