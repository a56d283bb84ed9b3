"""Analysis of saved results: normalized variant table, quadrants, frontier, synergy, plots.

Reads only saved records (a paper-format CSV, run records or a stored Optuna study), never
runs a pipeline. Plot
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
    metric_label,
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
from greensearch.analysis._report_html import write_report
from greensearch.analysis._study_records import (
    load_study_table,
    open_study,
    study_records,
    study_table,
)
from greensearch.analysis._study_report import StudyReport, study_report
from greensearch.analysis._synergy import BAND_RULE, estimate_noise, synergy_table

__all__ = [
    "BAND_RULE",
    "COLUMNS",
    "PAPER_COLUMNS",
    "PAPER_DEGENERATE_VARIANTS",
    "PLOT_STAGES",
    "QUADRANTS",
    "QUADRANT_COLORS",
    "STAGES",
    "Frontier",
    "StudyReport",
    "axis_columns",
    "baseline_row",
    "estimate_noise",
    "figure2",
    "find_chromium",
    "from_records",
    "frontier_figure",
    "load_paper_csv",
    "load_study_table",
    "metric_label",
    "open_study",
    "pareto_frontier",
    "quadrant_of",
    "quadrant_table",
    "stages_figure",
    "study_records",
    "study_report",
    "study_table",
    "synergy_table",
    "write_html",
    "write_png",
    "write_report",
]
