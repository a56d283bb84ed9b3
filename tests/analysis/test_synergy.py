from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from greensearch.analysis import estimate_noise, from_records, synergy_table
from greensearch.exceptions import ConfigError

#: The replicate pairs of Table I (same layers pruned at the top or the bottom; V0/V4 is not
#: one: fast_tokenizer is a knob, not a replicate) and their energy ratios 1 + ΔE/100.
PAIRS = {
    ("V13", "V14"): (0.850, 0.848),
    ("V15", "V16"): (0.662, 0.662),
    ("V17", "V18"): (0.511, 0.512),
    ("V19", "V20"): (0.317, 0.316),
    ("V21", "V22"): (0.154, 0.155),
}
# sigma = sqrt(mean(log(a/b)^2) / 2): log gaps +0.002356, 0, -0.001955, +0.003160, -0.006473,
# squares sum to 6.1252e-5, / 5 / 2 -> 6.1252e-6, sqrt -> 0.002475 (0.2475 % of one run)
SIGMA = math.sqrt(sum(math.log(a / b) ** 2 for a, b in PAIRS.values()) / 5 / 2)


def _saving(raw: dict[str, dict[str, str]], *variants: str) -> float:
    """1 - Π(1 - s) from the CSV's ΔEnergy column, by hand."""
    product = 1.0
    for v in variants:
        product *= 1 + float(raw[v]["delta_total_pct"]) / 100
    return (1 - product) * 100


@pytest.mark.parametrize(
    ("bundle", "parts"),
    [("V26", ("V18", "V8", "V11")), ("V27", ("V11", "V7")), ("V28", ("V18", "V11", "V7"))],
)
def test_measured_bundles_against_multiplicative_null(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]], bundle: str, parts: tuple[str, ...]
) -> None:
    row = synergy_table(paper).set_index("variant").loc[bundle]
    expected = _saving(raw_rows, *parts)
    measured = -float(raw_rows[bundle]["delta_total_pct"])
    assert row["expected_saving_pct"] == pytest.approx(expected)
    assert row["measured_saving_pct"] == pytest.approx(measured)
    assert row["synergy_ratio"] == pytest.approx(measured / expected)
    assert row["expected_additive_pct"] == pytest.approx(
        sum(float(raw_rows[p]["delta_total_pct"]) for p in parts)
    )
    assert sorted(row["measured_alone"].split(",")) == sorted(parts)
    assert row["unmeasured"] == "" and row["assumed_neutral"] == ""
    # band 2 sigma sqrt(1 + k) pp: k = 2 -> 0.857 pp, k = 3 -> 0.990 pp; V26 (-2.4 pp), V27
    # (-5.0) and V28 (-1.2) each fall short by more
    assert row["noise_pct"] == pytest.approx(200 * SIGMA * math.sqrt(1 + len(parts)))
    assert row["verdict"] == "antagonistic"


def test_v26_numbers_from_the_issue(paper: pd.DataFrame) -> None:
    row = synergy_table(paper).set_index("variant").loc["V26"]
    assert row["expected_saving_pct"] == pytest.approx(83.2, abs=0.05)
    assert row["measured_saving_pct"] == pytest.approx(80.8)


NOT_JUDGEABLE = {
    "V2": {"lora=head_only", "precision=bf16"},
    "V3": {"group_by_length", "lora", "lr_schedule=cosine", "quantization=nf4"},
    "V10": {"dataloader_workers=4", "pin_memory"},
    "V23": {"dataloader_workers=4", "grad_accumulation=2", "pin_memory"},
    "V24": {"lora=head_only", "precision=bf16"},
    "V25": {"grad_accumulation=2"},
    "V29": {"dataloader_workers=4", "pin_memory"},
    "V30": {"dataloader_workers=4", "lora=head_only", "pin_memory", "precision=bf16"},
}


def test_bundles_with_unmeasured_parts_are_not_judged(paper: pd.DataFrame) -> None:
    table = synergy_table(paper).set_index("variant")
    assert set(table.index) == set(NOT_JUDGEABLE) | {"V26", "V27", "V28"}
    for variant, missing in NOT_JUDGEABLE.items():
        row = table.loc[variant]
        assert row["verdict"] == "not_judgeable", variant
        assert set(row["unmeasured"].split(",")) == missing
        for component in missing:
            assert component in row["note"]
        assert math.isnan(row["expected_saving_pct"])


def test_kindest_assumption_judges_v25_and_says_so(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]
) -> None:
    table = synergy_table(paper, assume_neutral_unmeasured=True).set_index("variant")
    row = table.loc["V25"]
    assert row["verdict"] == "antagonistic"
    assert row["assumed_neutral"] == "grad_accumulation=2"
    assert "assumed grad_accumulation=2 neutral" in row["note"]
    assert row["expected_saving_pct"] == pytest.approx(_saving(raw_rows, "V1", "V7"))
    assert math.isnan(row["synergy_ratio"])  # expected saving < 0: a ratio would mislead
    # nothing measured alone: still no verdict, even with the assumption
    assert table.loc["V2", "verdict"] == "not_judgeable"
    assert table.loc["V3", "verdict"] == "not_judgeable"
    assert table.loc["V26", "assumed_neutral"] == ""


def test_noise_is_the_pooled_std_of_the_replicate_pairs(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]
) -> None:
    for (a, b), ratios in PAIRS.items():  # the hand-typed ratios are the CSV's
        csv_ratios = [1 + float(raw_rows[v]["delta_total_pct"]) / 100 for v in (a, b)]
        assert list(ratios) == pytest.approx(csv_ratios, abs=1e-12)
    noise = estimate_noise(paper)
    assert noise.method == "equivalent_pairs"
    assert noise.noise_rel == pytest.approx(SIGMA, rel=1e-12)
    assert noise.noise_rel == pytest.approx(0.002475, abs=1e-6)
    assert "V13/V14" in noise.detail and "V21/V22" in noise.detail
    assert "V0/V4" not in noise.detail
    assert synergy_table(paper).attrs["noise"]["noise_rel"] == pytest.approx(SIGMA, rel=1e-12)


def test_given_noise_wins_and_wide_noise_means_independent(paper: pd.DataFrame) -> None:
    table = synergy_table(paper, noise_pct=6.0).set_index("variant")
    assert set(table.loc[["V26", "V27", "V28"], "verdict"]) == {"independent"}
    # sigma 6 %: band 2 x 6 x sqrt(1 + k) pp = 20.78 pp (V27, k = 2), 24 pp (V26, V28, k = 3)
    assert table.loc["V27", "noise_pct"] == pytest.approx(12 * math.sqrt(3))
    assert table.loc["V26", "noise_pct"] == pytest.approx(24.0)
    assert table.loc["V28", "noise_pct"] == pytest.approx(24.0)
    assert table.loc["V25", "noise_pct"] != table.loc["V25", "noise_pct"]  # NaN: not judged
    with pytest.raises(ConfigError, match="--noise-pct"):
        synergy_table(paper, noise_pct=-1.0)


def _rec(name: str, knobs: str, energy: float, std: float | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "variant": name,
        "knobs": knobs,
        "energy_kwh": energy,
        "duration_s": energy * 100,
        "metrics": {"f1": 0.9},
        "repeats": 4,
    }
    if std is not None:
        rec["energy_kwh_std"] = std
    return rec


def test_noise_from_repeats_and_synergy_on_records() -> None:
    df = from_records(
        [
            _rec("base", "", 10.0, 0.2),
            _rec("a", "x", 8.0, 0.2),
            _rec("b", "y", 5.0, 0.2),
            _rec("ab", "x,y", 3.0, 0.2),  # expected 1 - 0.8*0.5 = 60 % saving; measured 70 %
        ]
    )
    noise = estimate_noise(df)
    # one run varies 100*0.2/E % of itself: 2, 2.5, 4, 6.67 -> RMS sigma; a two-knob bundle's
    # excess carries 1 + 2 errors of 4-run means: band = 2 sigma sqrt(3/4)
    sigma = math.sqrt((2.0**2 + 2.5**2 + 4.0**2 + (20 / 3) ** 2) / 4)
    assert noise.method == "repeats"
    assert noise.noise_rel == pytest.approx(sigma / 100)
    row = synergy_table(df).set_index("variant").loc["ab"]
    assert row["noise_pct"] == pytest.approx(2 * sigma * math.sqrt(3 / 4))
    assert row["expected_saving_pct"] == pytest.approx(60.0)
    assert row["excess_saving_pp"] == pytest.approx(10.0)
    assert row["synergy_ratio"] == pytest.approx(70 / 60)
    assert row["verdict"] == "synergistic"


def test_no_noise_source_is_a_config_error() -> None:
    df = from_records([_rec("base", "", 10.0), _rec("a", "x", 8.0), _rec("ab", "x,y", 3.0)])
    with pytest.raises(ConfigError, match="cannot estimate noise"):
        synergy_table(df)
