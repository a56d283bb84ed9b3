"""``check`` and ``synergy`` read the paper's table through different code (rows vs a
DataFrame) but must see the same model: the same bundles judgeable, the same
multiplicative expectation, the same measurement."""

from __future__ import annotations

from pathlib import Path

import pytest

from greensearch.analysis import load_paper_csv, synergy_table
from greensearch.interactions import OrthogonalityChecker, observe_rows, read_paper_table
from greensearch.knobs import default_registry, parse_bundle

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
