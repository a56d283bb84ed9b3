"""``greensearch check``: the verdict for one combination, as JSON and text; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greensearch.cli import main
from greensearch.knobs import Knob, KnobRegistry, Param, default_registry

TABLE = Path(__file__).resolve().parents[1] / "search" / "data" / "table1.csv"
V25 = "grad_accumulation=2,precision=fp16,grad_checkpointing"
PAPER_KNOBS = (
    "grad_checkpointing",
    "grad_accumulation",
    "precision",
    "layer_prune",
    "seq_len",
    "torch_compile",
)


def _noop(plan: object, value: object) -> None:
    return None


def _declared_registry() -> KnobRegistry:
    """The paper's V25-V28 knobs as the knob-registry issue declares them."""
    reg = KnobRegistry()
    for name, targets, costs, params in (
        ("grad_checkpointing", ("memory",), ("compute",), ()),
        ("grad_accumulation", ("memory",), ("compute",), (Param("steps", int, 2, low=1),)),
        (
            "precision",
            ("precision", "memory", "compute"),
            (),
            (Param("dtype", str, "fp16", choices=("fp16", "bf16")),),
        ),
        (
            "layer_prune",
            ("compute", "memory"),
            (),
            (Param("n", int, 4, low=1), Param("side", str, "top", choices=("top", "bottom"))),
        ),
        ("seq_len", ("compute", "memory"), (), (Param("tokens", int, 128, low=8),)),
        ("torch_compile", ("compute",), (), ()),
    ):
        reg.register(
            Knob(
                name=name,
                phase="training",
                targets=targets,
                costs=costs,
                description=name,
                apply=_noop,
                params=params,
            )
        )
    return reg


@pytest.fixture(params=["declared", "real"], autouse=True)
def registry(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test on the declared knobs, and on the built-ins once they have them."""
    if request.param == "declared":
        reg = _declared_registry()
        monkeypatch.setattr("greensearch.cli._check.default_registry", lambda: reg)
    elif any(k not in default_registry() for k in PAPER_KNOBS):
        pytest.skip("built-in registry lacks the paper's V25-V28 knobs")


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    rc = main(["check", *args, "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def test_v25_is_flagged_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, "--knobs", V25, "--csv", str(TABLE))
    assert d["flagged"] is True and d["risk"] is True and d["prune"] is False
    assert d["status"] == "risk"
    reasons = d["reasons"]
    assert isinstance(reasons, list)
    assert any("antagonism risk on memory" in r for r in reasons)
    assert any("grad_accumulation=2" in r and "never measured alone" in r for r in reasons)
    assert d["measured"] == [
        {"variant": "V25", "energy_ratio": pytest.approx(1.344), "delta_f1_pct": 0.12}
    ]


def test_v25_is_pruned_under_the_neutral_assumption(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, "--knobs", V25, "--csv", str(TABLE), "--assume-neutral")
    assert d["status"] == "prune" and d["best_subset"] == "precision=fp16"
    assert d["predicted_energy_ratio"] == pytest.approx(1.307 * 0.795)
    assert d["assume_neutral"] is True
    assert any("assumed neutral" in r for r in d["reasons"])  # type: ignore[union-attr]


def test_v26_passes_and_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    bundle = "layer_prune=12:bottom,seq_len=512,torch_compile"
    d = _json(capsys, "--knobs", bundle, "--csv", str(TABLE))
    assert d["flagged"] is False and d["status"] == "pass"
    assert main(["check", "--knobs", V25]) == 0
    text = capsys.readouterr().out
    assert "verdict: RISK (flagged)" in text and "spends compute (trade-off)" in text


def test_given_noise_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, "--knobs", V25, "--csv", str(TABLE), "--noise-pct", "40", "--assume-neutral")
    assert d["noise_rel"] == pytest.approx(0.40)
    assert d["prune"] is False  # +30.7% is within a 40% noise


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--knobs", "grad_acumulation=2"], "greensearch: error: unknown knob 'grad_acumulation'"),
        (["--knobs", V25, "--csv", "missing.csv"], "greensearch: error: CSV file 'missing.csv'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["check", *args, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)
