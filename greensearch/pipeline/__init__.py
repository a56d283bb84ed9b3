"""The staged fine-tuning pipeline: data → tokenize → load → train → save → eval."""

from greensearch.pipeline._metrics import DEGENERATE_SHARE, Metrics, compute_metrics
from greensearch.pipeline._run_summary import RunSummary
from greensearch.pipeline._runner import ALL_WINDOWS, run_once, run_variant
from greensearch.pipeline._stages import STAGES
from greensearch.pipeline._summary import describe, summarize

__all__ = [
    "ALL_WINDOWS",
    "DEGENERATE_SHARE",
    "STAGES",
    "Metrics",
    "RunSummary",
    "compute_metrics",
    "describe",
    "run_once",
    "run_variant",
    "summarize",
]
