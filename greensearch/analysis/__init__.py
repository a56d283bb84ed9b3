"""Analysis of saved results: normalized variant table, quadrants, frontier, synergy, plots.

Reads only saved records (a paper-format CSV or run records), never runs a pipeline. Plot
functions import plotly lazily, so importing this package stays cheap.
"""

from greensearch.analysis._pareto import (
    PLOT_STAGES,
    QUADRANTS,
    Frontier,
    axis_columns,
    pareto_frontier,
    quadrant_of,
    quadrant_table,
)
from greensearch.analysis._plots import (
    QUADRANT_COLORS,
    figure2,
    find_chromium,
    frontier_figure,
    stages_figure,
    write_html,
    write_png,
)
from greensearch.analysis._records import (
    COLUMNS,
    PAPER_COLUMNS,
    PAPER_DEGENERATE_VARIANTS,
    STAGES,
    baseline_row,
    from_records,
    load_paper_csv,
)
from greensearch.analysis._synergy import (
    NEUTRAL_KNOBS,
    SIDE_INSENSITIVE_KNOBS,
    NoiseEstimate,
    equivalent_pairs,
    estimate_noise,
    synergy_table,
)

__all__ = [
    "COLUMNS",
    "NEUTRAL_KNOBS",
    "PAPER_COLUMNS",
    "PAPER_DEGENERATE_VARIANTS",
    "PLOT_STAGES",
    "QUADRANTS",
    "QUADRANT_COLORS",
    "SIDE_INSENSITIVE_KNOBS",
    "STAGES",
    "Frontier",
    "NoiseEstimate",
    "axis_columns",
    "baseline_row",
    "equivalent_pairs",
    "estimate_noise",
    "figure2",
    "find_chromium",
    "from_records",
    "frontier_figure",
    "load_paper_csv",
    "pareto_frontier",
    "quadrant_of",
    "quadrant_table",
    "stages_figure",
    "synergy_table",
    "write_html",
    "write_png",
]
