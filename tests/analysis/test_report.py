"""The study report: the right oracle, plain words about the meter, one copy of plotly.js."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import optuna
import pytest

from greensearch.analysis import load_study_table, study_report, write_report
from greensearch.record import TrialRecord
from greensearch.search import Point, RunNoise
from greensearch.stats import RunPredictions


@pytest.fixture(scope="module")
def report(replay_journal: str):  # type: ignore[no-untyped-def]
    return study_report(replay_journal, "default-replay")


def test_report_data_matches_the_search(report, replay_journal: str) -> None:  # type: ignore[no-untyped-def]
    r = report.result
    assert report.oracle_variant == f"T{r['oracle']['trial']}"
    table = load_study_table(replay_journal, "default-replay").set_index("variant")
    # the oracle row of the table is the finalist the search chose, at full fidelity
    assert table.loc[report.oracle_variant, "knobs"] == r["oracle"]["knobs"]
    assert table.loc[report.oracle_variant, "fidelity"] == 1.0
    # the landscape's true feasible minimum on a CPU (fp16 and nf4 need CUDA): every saver
    # within the -1 % budget (F1 loss 0.004 of 0.80 = 0.5 %); int8 alone loses 1.5 %
    assert r["oracle"]["knobs"] == "dynamic_padding,group_by_length,precision=bf16,torch_compile"
    # the replay's meter says "estimated", so the report must not call anything measured
    assert report.methods == {"estimated": len(table)}
    assert report.measurement_statement.startswith(
        "Every energy figure in this report is ESTIMATED, not measured (meter: replay)"
    )
    doc = report.to_dict()
    assert doc["points_by_fidelity"] == {"1": 3, "0.3": len(table) - 3}
    # The payback, from the stored trials themselves: every trial's own spend, over the
    # saving of the oracle's full runs against the baseline's.
    journal = optuna.storages.journal.JournalFileBackend(replay_journal.removeprefix("journal:"))
    storage = optuna.storages.JournalStorage(journal)
    trials = optuna.load_study(study_name="default-replay", storage=storage).get_trials()
    records = [TrialRecord.from_trial(t) for t in trials]
    spent = sum(rec.energy_kwh_spent for rec in records)
    full = {
        rec.knobs: rec.energy_kwh
        for rec in records
        if rec.state == optuna.trial.TrialState.COMPLETE and rec.fidelity == 1.0
    }
    saving = full[""] - full[r["oracle"]["knobs"]]
    assert doc["payback_runs"] == pytest.approx(spent / saving)
    assert sum(doc["synergy"]["verdicts"].values()) == len(report.synergy)
    # the synergy note names sigma's evidence and the band rule each row's band follows
    assert "RMS over" in report.synergy_note and "band 2σ·sqrt(1 + k) pp" in report.synergy_note


def test_html_is_self_contained_with_every_section(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = write_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("* plotly.js v") == 1  # inlined once, shared by the three figures
    assert page.count("Plotly.newPlot(") == 3
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched from the network
    for heading in (
        "Oracle",
        "The search&#x27;s own cost",
        "Finalists (full fidelity)",
        "Pareto frontier",
        "Figure 2",
        "Energy per stage",
        "Synergy",
        "Pruned combinations",
        "Every knob set",
    ):
        assert heading in page or heading.replace("&#x27;", "'") in page, heading
    judged = report.synergy.loc[report.synergy["verdict"] != "not_judgeable"]
    assert "<th class=''>excess (pp)</th><th class=''>band (pp)</th>" in page
    for band in judged["noise_pct"]:
        assert f"{band:.2f}" in page  # each judged bundle's own band
    r = report.result
    assert f"{r['payback_runs']:.3g}</b> runs" in page
    ci = r["oracle"]["delta_energy_ci95_pct"]
    assert f"95% CI {ci[0]:+.1f}% to {ci[1]:+.1f}%" in page
    for pruned in r["pruned"]:
        assert pruned["reason"].split(";")[0].replace("'", "&#x27;") in page
    assert "ESTIMATED, not measured" in page


def test_user_text_is_escaped(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    hostile = replace(report, study_name="<script>alert(1)</script>")
    page = write_report(hostile, tmp_path / "x.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_report_names_the_machine_or_says_it_was_not_recorded(report) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    # the replayed study has no machine: the report says so instead of implying one
    assert report.measurement_statement.endswith(
        "Machine not recorded (a study made before greensearch recorded machines)."
    )
    machine = {"fingerprint": "c79474ff9994", "summary": "AMD EPYC, 2 cores, torch AVX512"}
    named = replace(report, result={**report.result, "machine": machine})
    assert named.machine_statement == (
        "Measured on AMD EPYC, 2 cores, torch AVX512 (fingerprint c79474ff9994); "
        "the figures hold for that machine."
    )
    assert named.to_dict()["meter"]["statement"].endswith(named.machine_statement)


def test_a_study_without_an_oracle_stars_no_oracle(tmp_path: Path) -> None:
    """Before the finals there is no oracle: the figures must not call any point one."""
    import json

    from tests.analysis.replay_study import make_study

    url = f"journal:{tmp_path / 'search-only.journal'}"
    make_study(url, name="searching", search_only=True, n_trials=12)
    report = study_report(url, "searching")
    assert report.result["oracle"] is None and report.oracle_variant is None
    page = write_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    names = [
        trace.get("name", "")
        for blob in re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", page)
        for trace in json.loads(blob)
    ]
    assert "baseline" in names  # the figures were found and parsed
    assert not [n for n in names if "oracle" in n], names


def test_the_oracle_line_shows_the_deciding_bound_beside_the_interval() -> None:
    from greensearch.analysis._report_html import _f1_ci_text
    from greensearch.search._result import build_result
    from tests.search.finals_study import finals_study

    result = build_result(finals_study(), fidelity=0.5, budget_f1_pct=-1.0)
    assert result.not_confirmed is not None
    text = _f1_ci_text(result.not_confirmed.to_dict(), "F1")
    share = round(100 * (result.not_confirmed.row["f1_bootstrap_share"] or 0.0))
    assert text.startswith(" (95% CI -1.1")
    assert f"bootstrap share within budget {share}%; feasible: lower 93% bound" in text


class _ExactMatchScores:
    """Kept exact-match scores (0/1 per example), as a generative task's script reports
    them: example ``i`` is right when a draw shared by every run falls under the point's
    score, so bundles differ only by their score, paired on the same examples."""

    def __init__(self, n: int = 800) -> None:
        self.draws = np.random.default_rng(0).random(n)

    def run(self, key: str, point: Point, *, fidelity: float, seed: int, clock_s: float):  # type: ignore[no-untyped-def]
        right = (self.draws < point.f1).astype(float)
        zeros = np.zeros(right.size, dtype=np.int64)
        kept = RunPredictions("em", zeros, zeros, seed=seed, metric="exact_match", values=right)
        return RunNoise(1.0, float(right.mean()), kept)


def test_a_study_of_another_metric_names_it_in_the_report_and_the_plots(  # type: ignore[no-untyped-def]
    report, replay_journal: str, tmp_path: Path
) -> None:
    from greensearch.analysis import frontier_figure, metric_label
    from greensearch.search import ReplayRunner
    from tests.analysis.replay_study import Landscape, make_study

    url = f"journal:{tmp_path / 'em.journal'}"
    run = ReplayRunner(Landscape(), noise_rel=0.01, seed=3, noise=_ExactMatchScores())
    make_study(url, name="em", n_trials=10, run_fn=run)
    em = study_report(url, "em")
    assert em.metric_label == "exact match" and em.to_dict()["metric"] == "exact_match"
    page = write_report(em, tmp_path / "em.html").read_text(encoding="utf-8")
    assert "Δexact match" in page and "exact match budget" in page
    assert "ΔF1" not in page and "F1 budget" not in page and "F1 verdict" not in page
    table = load_study_table(url, "em")
    assert metric_label(table) == "exact match"
    assert frontier_figure(table).layout.yaxis.title.text == "Δexact match %"
    # a classification study keeps F1
    assert report.metric_label == "F1" and report.to_dict()["metric"] == "f1"
    f1_table = load_study_table(replay_journal, "default-replay")
    assert frontier_figure(f1_table).layout.yaxis.title.text == "ΔF1 %"
