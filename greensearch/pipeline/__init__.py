"""The staged fine-tuning pipeline: data → tokenize → load → train → save → eval."""

from greensearch.pipeline._eval_subset import (
    MIN_EVAL_EXAMPLES,
    SHORT_RUN_EVAL,
    eval_count,
    eval_indices,
)
from greensearch.pipeline._metrics import (
    DEGENERATE_SHARE,
    Metrics,
    compute_metrics,
    kept_metrics,
)
from greensearch.pipeline._run_summary import RunSummary
from greensearch.pipeline._runner import (
    ALL_WINDOWS,
    MeteredRun,
    repeat_runs,
    repeat_seed,
    run_once,
    run_stages,
    run_variant,
    staged_record,
)
from greensearch.pipeline._scratch import scratch_folder
from greensearch.pipeline._stages import STAGES
from greensearch.pipeline._summary import describe, summarize

__all__ = [
    "ALL_WINDOWS",
    "DEGENERATE_SHARE",
    "MIN_EVAL_EXAMPLES",
    "SHORT_RUN_EVAL",
    "STAGES",
    "MeteredRun",
    "Metrics",
    "RunSummary",
    "compute_metrics",
    "kept_metrics",
    "describe",
    "eval_count",
    "eval_indices",
    "repeat_runs",
    "repeat_seed",
    "run_once",
    "run_stages",
    "run_variant",
    "scratch_folder",
    "staged_record",
    "summarize",
]
