"""What ``greensearch optimize`` prints: the oracle, every full-fidelity finalist, the cost."""

from __future__ import annotations

import dataclasses

import optuna

from greensearch.cli._optimize import render
from greensearch.schema import StudyAttr
from greensearch.search._replay import Point, ReplayRunner
from tests.search.landscape import BASE_F1, landscape
from tests.search.run_search import grid_search


def _result(clock_meter, **kw):
    """All 8 combinations of three knobs measured (4 seeds + the grid's 8 points).

    trim loses 1.1 F1 points in short runs only, so ``compile,prune=2,trim`` is a near miss
    that meets the budget in full runs.
    """
    points = landscape()
    for key, p in points.items():
        if "trim" in key.split(","):
            points[key] = Point(
                p.energy_kwh, p.duration_s, p.f1, short_run_f1=p.f1 - BASE_F1 * 0.011
            )
    return grid_search(
        ReplayRunner(points),
        repeats=2,
        baseline_repeats=2,
        finalists=1,
        meter=clock_meter,
        idle_seconds=2.0,
        **kw,
    )


def _finalist_rows(out: str) -> list[str]:
    table = out.split("finalists at full fidelity:\n")[1].split("\n\n")[0].splitlines()
    return table[2:]  # after the header and its rule


def test_render_lists_each_finalist_and_why_it_was_picked(clock_meter, capsys):
    result = _result(clock_meter, defer_finals=False)  # every finalist in the same rounds
    render(result)
    out = capsys.readouterr().out
    assert "oracle: compile,prune=2,trim" in out
    rows = _finalist_rows(out)
    assert len(rows) == 3  # two near misses; the baseline is the reference, not a candidate
    near = next(r for r in rows if r.startswith("compile,prune=2,trim "))
    kept = next(r for r in rows if r.startswith("compile,prune=2 "))
    # Replayed trials keep no predictions: the point-estimate rule, named as such.
    assert near.split()[-2:] == ["near", "miss"] and " feasible " in near
    assert kept.endswith("feasible in search")


def test_render_names_the_finalist_that_waited_for_cheaper_ones(clock_meter, capsys):
    render(_result(clock_meter))
    out = capsys.readouterr().out
    assert "oracle: compile,prune=2,trim" in out
    assert not any(r.startswith("compile,prune=2 ") for r in _finalist_rows(out))
    waited = out.split("waited (dearer; judged only if no cheaper finalist is confirmed):\n")[1]
    assert waited.splitlines()[0].startswith("  compile,prune=2: short run x")
    assert waited.splitlines()[0].endswith(": not needed")


def test_render_without_near_misses_has_one_finalist(clock_meter, capsys):
    render(_result(clock_meter, near_misses=0))
    rows = _finalist_rows(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0].startswith("compile,prune=2 ")
    assert rows[0].endswith("feasible in search")


def test_knobs_left_out_by_the_caller_are_stored_and_printed_with_the_reason(clock_meter, capsys):
    why = "model_init builds the model: nf4 quantizes while loading a checkpoint"
    storage = optuna.storages.InMemoryStorage()
    result = _result(clock_meter, storage=storage, near_misses=0, left_out={"quantization": why})
    # read back from the study, not handed through
    stored = optuna.load_study(study_name="r", storage=storage)
    assert stored.user_attrs[StudyAttr.LEFT_OUT_KNOBS] == {"quantization": why}
    assert result.left_out_knobs == {"quantization": why}
    render(result)
    assert f"left out of the search: quantization ({why})" in capsys.readouterr().out.splitlines()


def test_nothing_is_said_left_out_when_the_caller_left_nothing_out(clock_meter, capsys):
    result = _result(clock_meter, near_misses=0)
    assert result.left_out_knobs == {}
    render(result)
    assert "left out of the search" not in capsys.readouterr().out


def test_render_shows_the_deciding_bound_the_bootstrap_share_and_the_oracle_rule(capsys):
    from greensearch.search._result import build_result
    from tests.search.finals_study import finals_study

    render(build_result(finals_study(), fidelity=0.5, budget_f1_pct=-1.0))
    out = capsys.readouterr().out
    oracle = out.split("oracle: b\n")[1].split("\n")
    assert "bootstrap share within budget 100%" in oracle[1]
    assert oracle[1].endswith(
        "feasible: lower 93% bound +0.0% >= -1.0%; 3 full-fidelity runs in rounds"
    )
    assert oracle[2].startswith("  oracle rule: the cheapest finalist confirmed within the budget")
    assert "P(" not in out
    row = next(r for r in _finalist_rows(out) if r.startswith("a "))
    assert "feasible: lower 93% bound" in row


def test_render_weighs_the_total_energy_against_the_baseline_runs(clock_meter, capsys):
    result = _result(clock_meter, production_runs=10)
    render(result)
    out = capsys.readouterr().out
    assert result.total_energy_kwh is not None and result.production_baseline_kwh is not None
    change = 100 * (result.total_energy_kwh / result.production_baseline_kwh - 1)
    line = next(x for x in out.splitlines() if x.startswith("total over 10 production runs"))
    assert "(search + runs of the oracle)" in line
    assert line.endswith(f"({change:+.1f}%)")


def test_render_names_the_task_metric_where_a_classifier_says_f1(clock_meter, capsys):
    result = dataclasses.replace(_result(clock_meter), metric="exact_match")
    render(result)
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("exact match budget -1%")
    assert "Δexact match 95% CI" in out.split("finalists at full fidelity:\n")[1]
    assert "F1" not in out


def test_a_long_bundle_wraps_after_its_commas_and_the_figures_stay_in_line(capsys):
    """The Pareto table printed a 143-character knob column; bundles now wrap at a comma."""
    from greensearch._text import KNOBS_WIDTH
    from greensearch.cli._render import print_table

    long = ",".join(f"knob_{i}=value_{i}" for i in range(8))  # 135 characters
    print_table(["knobs", "energy"], [[long, "1 Wh"], ["seq_len=128", "2 Wh"]], wrap_first=40)
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.split("  ")[0]) for line in lines) <= 40
    assert "".join(line.split()[0] for line in lines[2:-1]) == long  # nothing lost or added
    assert lines[2].endswith("1 Wh") and lines[-1].endswith("2 Wh")
    assert all(line.startswith("  knob_") for line in lines[3:-1])
    assert len({len(line) for line in (lines[2], lines[-1])}) == 1  # figures aligned
    assert 40 <= KNOBS_WIDTH <= 60


def test_an_energy_column_keeps_one_unit():
    """A live Pareto table printed ``335 J`` under ``0.13 Wh``: one unit per column."""
    from greensearch._text import energy_unit, fmt_energy

    column = [0.13e-3, 335 / 3.6e6, 0.155e-3]
    unit = energy_unit(column)
    assert unit == "Wh"
    assert [fmt_energy(v, unit) for v in column] == ["0.13 Wh", "0.0931 Wh", "0.155 Wh"]
    assert fmt_energy(335 / 3.6e6) == "335 J"  # alone, a value keeps its own unit
    assert energy_unit([None, 2.0]) == "kWh" and energy_unit([]) == "Wh"
