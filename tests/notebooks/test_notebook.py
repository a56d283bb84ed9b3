"""``notebooks/synergy.ipynb`` runs top to bottom and prints what the data imply."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "synergy.ipynb"
TABLE1 = ROOT / "tests" / "analysis" / "data" / "table1.csv"


def _text(nb) -> str:  # type: ignore[no-untyped-def]
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


@pytest.fixture(scope="module")
def executed():  # type: ignore[no-untyped-def]
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return nb


def test_paper_v26_expected_saving(executed) -> None:  # type: ignore[no-untyped-def]
    with TABLE1.open(newline="") as fh:
        rows = {r["variant"]: r for r in csv.DictReader(fh)}
    # V26 = V18 + V8 + V11: 1 - 0.512 x 0.534 x 0.616, from the CSV by hand
    product = 1.0
    for v in ("V18", "V8", "V11"):
        product *= 1 + float(rows[v]["delta_total_pct"]) / 100
    expected = (1 - product) * 100
    assert round(expected, 1) == 83.2
    text = _text(executed)
    measured = -float(rows["V26"]["delta_total_pct"])
    assert (
        f"V26 expected saving (multiplicative): {expected:.1f}% vs measured "
        f"{measured:.1f}% -> antagonistic"
    ) in text
    assert re.search(r"V25 .* -> antagonistic \(assumed grad_accumulation=2 neutral\)", text)


def test_study_part_finds_the_modelled_synergy(executed) -> None:  # type: ignore[no-untyped-def]
    text = _text(executed)
    assert "oracle: dynamic_padding,group_by_length,precision=bf16" in text
    assert "'method': 'estimated'" in text  # a replay is never called a measurement
    assert re.search(
        r"dynamic_padding,group_by_length,precision=bf16: measured .* -> synergistic", text
    )
    plots = [
        o
        for c in executed.cells
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert len(plots) == 3  # two savings figures and Figure 2, inline
