"""``check`` and ``synergy`` read the paper's table through different code (rows vs a
DataFrame) but must see the same model: the same bundles judgeable, the same
multiplicative expectation, the same measurement, the same noise and the same verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from greensearch.analysis import load_paper_csv, synergy_table
from greensearch.interactions import OrthogonalityChecker, observe_rows, read_paper_table
from greensearch.knobs import default_registry, parse_bundle
from greensearch.search import check_bundle

TABLE1 = Path(__file__).resolve().parents[1] / "analysis" / "data" / "table1.csv"


def test_check_and_synergy_agree_on_every_bundle_both_judge() -> None:
    synergy = synergy_table(load_paper_csv(TABLE1))
    rows = read_paper_table(TABLE1)
    checker = OrthogonalityChecker(default_registry(), noise_rel=0.0)
    assert observe_rows(checker, rows, singles_only=True) == []
    measured = {r.variant: r for r in rows}

    judged_by_synergy = set(synergy.loc[synergy["verdict"] != "not_judgeable", "variant"])
    predicted_by_check = {
        str(r["variant"])
        for _, r in synergy.iterrows()
        if not checker.predict(parse_bundle(r["knobs"])).missing
    }
    assert judged_by_synergy == predicted_by_check == {"V26", "V27", "V28"}

    for _, r in synergy.loc[synergy["variant"].isin(judged_by_synergy)].iterrows():
        pred = checker.predict(parse_bundle(r["knobs"]))
        assert pred.independent_energy_ratio == pytest.approx(
            1 + r["expected_multiplicative_pct"] / 100, rel=1e-12
        ), r["variant"]
        assert measured[r["variant"]].energy_ratio == pytest.approx(
            1 + r["measured_delta_energy_pct"] / 100, rel=1e-12
        ), r["variant"]


def test_check_and_synergy_give_the_same_noise_band_and_verdict() -> None:
    synergy = synergy_table(load_paper_csv(TABLE1)).set_index("variant")
    rows = read_paper_table(TABLE1)
    registry = default_registry()
    for variant, k, band in (("V26", 3, 0.98993), ("V27", 2, 0.85731), ("V28", 3, 0.98993)):
        # sigma 0.24748 % (five pruning pairs, see tests/analysis/test_synergy.py):
        # 2 x 0.24748 x sqrt(1 + k) = 0.85731 pp (k = 2), 0.98993 pp (k = 3)
        row = synergy.loc[variant]
        report = check_bundle(registry, parse_bundle(row["knobs"]), rows=rows)
        assert report.noise is not None and report.interaction is not None
        assert report.noise.noise_rel == pytest.approx(
            synergy.attrs["noise"]["noise_rel"], rel=1e-12
        )
        assert report.noise.method == synergy.attrs["noise"]["method"] == "equivalent_pairs"
        assert report.interaction.band_pp == pytest.approx(row["noise_pct"], rel=1e-12)
        assert report.interaction.band_pp == pytest.approx(band, abs=1e-5), k
        assert report.interaction.excess_saving_pp == pytest.approx(
            row["excess_saving_pp"], abs=1e-9
        )
        assert report.interaction.verdict == row["verdict"] == "antagonistic", variant
        assert report.to_dict()["interaction"]["verdict"] == "antagonistic"


def test_check_gives_no_interaction_verdict_without_a_measurement() -> None:
    rows = read_paper_table(TABLE1)
    v25 = parse_bundle(next(r.text for r in rows if r.variant == "V25"))
    registry = default_registry()
    unmeasured = check_bundle(registry, parse_bundle("torch_compile,attention=sdpa"), rows=rows)
    assert unmeasured.interaction is None
    assert check_bundle(registry, v25, rows=rows).interaction is None  # no prediction
    assumed = check_bundle(registry, v25, rows=rows, assume_neutral=True).interaction
    synergy = synergy_table(load_paper_csv(TABLE1), assume_neutral_unmeasured=True)
    row = synergy.set_index("variant").loc["V25"]
    # grad_accumulation=2 assumed neutral: only V25, V1 and V7 carry an error, k = 2:
    # 2 x 0.24748 x sqrt 3 = 0.85731 pp, the same band synergy gives V25
    assert assumed is not None
    assert assumed.band_pp == pytest.approx(0.85731, abs=1e-5)
    assert assumed.band_pp == pytest.approx(row["noise_pct"], rel=1e-12)
    assert assumed.verdict == row["verdict"] == "antagonistic"
