from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from greensearch.analysis import (
    QUADRANT_COLORS,
    _plots,
    figure2,
    frontier_figure,
    quadrant_table,
    stages_figure,
    write_html,
    write_png,
)
from greensearch.exceptions import ConfigError


def test_figure2_draws_every_variant_once_in_its_quadrant_colour(paper: pd.DataFrame) -> None:
    fig = figure2(paper, stage="eval", budget_f1_pct=1.0)
    quadrants = quadrant_table(paper, stage="eval").set_index("variant")["quadrant"]
    labelled = [t for t in fig.data if t.mode == "markers+text"]
    drawn = [v for t in labelled for v in t.text]
    assert sorted(drawn) == sorted(paper["variant"])
    for trace in labelled:
        for variant in trace.text:
            quadrant = quadrants[variant]
            colour = "red" if quadrant == "baseline" else QUADRANT_COLORS[quadrant]
            assert trace.marker.color == colour, variant
    oracle = [t for t in fig.data if t.name.startswith("oracle")]
    assert len(oracle) == 1 and oracle[0].marker.symbol == "star"
    assert "(V21)" in oracle[0].name
    assert fig.layout.xaxis.title.text == "ΔTime (eval) %"


def test_frontier_and_stage_figures(paper: pd.DataFrame) -> None:
    fig = frontier_figure(paper, budget_f1_pct=1.0)
    names = [t.name for t in fig.data]
    assert "Pareto frontier" in names and "degenerate (one class)" in names
    degenerate = next(t for t in fig.data if t.name == "degenerate (one class)")
    assert sorted(degenerate.text) == ["V2", "V30"]
    bars = stages_figure(paper, variants=["V0", "V26"])
    assert [t.name for t in bars.data] == ["data", "tokenize", "load", "train", "save", "eval"]
    train = next(t for t in bars.data if t.name == "train")
    expected = paper.set_index("variant").loc[["V0", "V26"], "energy_train_kwh"].tolist()
    assert list(train.y) == expected
    with pytest.raises(ConfigError, match="unknown variant\\(s\\) V99"):
        stages_figure(paper, variants=["V99"])


def test_html_is_self_contained(paper: pd.DataFrame, tmp_path: Path) -> None:
    out = write_html(figure2(paper), tmp_path / "fig.html")
    html = out.read_text(encoding="utf-8")
    assert '<script src="http' not in html  # no CDN: opens offline
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js inlined


def test_png_without_chromium_is_one_line_config_error(
    paper: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_plots, "find_chromium", lambda: None)
    with pytest.raises(ConfigError) as info:
        write_png(figure2(paper), tmp_path / "fig.png")
    assert str(info.value) == (
        "PNG export needs Chromium: apt-get install chromium (or pip install kaleido and run "
        "`plotly_get_chrome`)"
    )


def test_figure2_stars_the_table_oracle_only_when_asked(paper) -> None:  # type: ignore[no-untyped-def]
    def names(fig) -> list[str]:  # type: ignore[no-untyped-def]
        return [t.name for t in fig.data]

    starred = names(figure2(paper, stage="eval", budget_f1_pct=1.0))
    assert any(n.startswith("oracle: lowest energy within -1% F1") for n in starred)
    bare = names(figure2(paper, stage="eval", budget_f1_pct=1.0, table_oracle=False))
    assert not [n for n in bare if "oracle" in n] and "baseline" in bare
    framed = names(frontier_figure(paper, budget_f1_pct=1.0, table_oracle=False))
    assert not [n for n in framed if "oracle" in n] and "Pareto frontier" in framed
