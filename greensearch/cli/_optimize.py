"""``greensearch optimize``: search knob bundles for the lowest energy within an F1 budget."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from greensearch.cli._render import print_json

if TYPE_CHECKING:
    from greensearch.search import SearchResult

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    """Register the ``optimize`` subcommand."""
    p = sub.add_parser(
        "optimize",
        help="search knob bundles for the lowest energy within an F1 budget",
        description=(
            "Multi-objective Optuna search over the knobs available here: minimise measured "
            "energy and F1 loss, with the F1 budget as a constraint. Seeds the baseline "
            "(repeated) and every knob alone, prunes combinations the orthogonality checker "
            "predicts to lose, runs the bundle the checker's model ranks first within the budget "
            "while it has one (the sampler when it has none), then re-measures the cheapest "
            "feasible bundles and the most promising bundle whose short-run F1 verdict was "
            "uncertain at full fidelity, with seeded repeats, before naming the oracle: the "
            "cheapest bundle whose paired ΔF1 interval is confidently within the budget. Re-"
            "running with the same --study-name resumes."
        ),
        epilog="example:\n  greensearch optimize --budget-f1 -1% --n-trials 40 --fidelity 0.5",
    )
    _add_task_options(p)
    _add_search_options(p)
    _add_finals_options(p)
    _add_worker_options(p)
    _add_verdict_and_output_options(p)
    p.set_defaults(handler=handle)


def _add_task_options(p: argparse.ArgumentParser) -> None:
    """The budget, the study file (or the user's script) and where its trials are stored."""
    p.add_argument(
        "--budget-f1",
        default=None,
        metavar="PCT",
        help="accepted F1 loss vs the baseline: -1%%, -0.5%%, 1%% (default -1%%); with "
        "--script, the loss of the task's metric (entity F1, exact match) the script reports",
    )
    p.add_argument("--study", metavar="FILE", help="study TOML (default: the embedded study)")
    p.add_argument(
        "--n-trials",
        type=int,
        metavar="N",
        help="search trials in the study, seeds included (default: seeds + 8)",
    )
    p.add_argument(
        "--warm-start",
        default=None,
        metavar="STUDY",
        help="start from an earlier study of the same task and machine in the same storage "
        "(default: none, every trial measured)",
    )
    p.add_argument(
        "--production-runs",
        type=int,
        default=None,
        metavar="N",
        help="how often you will run the result: the search stops when a further trial "
        "would not pay for itself over N runs, a bundle is promoted to the finals when none "
        "is confirmed and N runs repay its rounds, and the total energy is shown (default: "
        "none, the trial budget decides)",
    )
    p.add_argument(
        "--study-name",
        metavar="NAME",
        help="Optuna study name (default <study>-f1-<budget>); the same name resumes",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage: sqlite:///F.db, postgresql://..., journal:FILE "
        "(default sqlite:///studies/<study-name>.db)",
    )
    p.add_argument(
        "--script",
        metavar="FILE",
        help="search around your own Python script instead of the staged pipeline: it runs "
        "once per run with its knobs in $GREENSEARCH_BUNDLE and reports with "
        "greensearch.report_run; it declares the knobs it honours in a "
        "'# greensearch: knobs=a,b' line (see README; default: none, the staged pipeline)",
    )
    p.add_argument(
        "--script-timeout",
        type=float,
        default=3600.0,
        metavar="S",
        help="seconds one run of --script may take before it is killed and its trial "
        "failed (default 3600)",
    )
    p.add_argument(
        "--script-args",
        default=None,
        metavar="ARGS",
        help="the script's own command-line arguments, quoted as one string and split as a "
        "shell would: --script-args '--rows 128' (default: none)",
    )


def _add_search_options(p: argparse.ArgumentParser) -> None:
    """How each search trial is sampled and measured."""
    p.add_argument(
        "--sampler",
        default=None,
        choices=("tpe", "nsga2", "gp", "random", "grid"),
        help="Optuna sampler (default tpe, with the F1 constraint)",
    )
    p.add_argument(
        "--fidelity",
        type=float,
        default=None,
        metavar="F",
        help="fraction of training steps per search trial; energy and time are "
        "extrapolated to the full run (default 0.25)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        metavar="N",
        help="full-fidelity rounds every finalist and the baseline get before the first "
        "look at the verdicts (default 3)",
    )
    p.add_argument(
        "--max-rounds",
        type=int,
        default=None,
        metavar="N",
        help="rounds are added while a finalist's verdict is undecided, up to N; each look "
        "spends its share of the error rate, so --confidence holds (default 6; "
        "= --repeats, or --confidence 0.5: fixed rounds)",
    )
    p.add_argument(
        "--baseline-repeats",
        type=int,
        default=None,
        metavar="N",
        help="baseline runs at search fidelity, to estimate noise (default 3)",
    )
    p.add_argument(
        "--anchor-every",
        type=int,
        default=None,
        metavar="K",
        help="one short baseline run every K measured search trials; each trial's energy "
        "is taken against the latest, so drift does not decide it (default 0: none)",
    )
    p.add_argument(
        "--no-shared-windows",
        dest="share_windows",
        action="store_false",
        default=None,
        help="take each search trial's energy from its own run alone, validation passes "
        "included (default: the windows its knobs leave alone, such as a training knob's "
        "eval, are estimated from every run of the same work, and a short run skips its "
        "validation passes, estimated alike)",
    )


def _add_finals_options(p: argparse.ArgumentParser) -> None:
    """What is re-measured at full fidelity, and how trials are proposed."""
    p.add_argument(
        "--finalists",
        type=int,
        default=None,
        metavar="K",
        help="cheapest feasible bundles re-measured at full fidelity; a slot no short run "
        "filled goes to the next uncertain bundle unless --near-misses is 0 (default 1)",
    )
    p.add_argument(
        "--near-misses",
        type=int,
        default=None,
        metavar="N",
        help="also re-measure up to N bundles whose short-run F1 verdict was uncertain "
        "(neither confidently within nor outside the budget) and that are cheaper than "
        "every finalist, largest expected saving first; the oracle still needs a feasible "
        "verdict in full runs; none at --fidelity 1 or a 0%% budget (default 2; 0: none)",
    )
    p.add_argument(
        "--no-defer-finals",
        dest="defer_finals",
        action="store_false",
        default=None,
        help="judge every finalist in the same rounds (default: a dearer one whose rounds "
        "the cheaper ones' chance of failing does not repay waits, and is judged in rounds "
        "of its own only if none of them is confirmed)",
    )
    p.add_argument(
        "--no-prune",
        dest="prune",
        action="store_false",
        help="measure every sampled combination (no orthogonality pruning)",
    )
    p.add_argument(
        "--no-guide",
        dest="guide",
        action="store_false",
        default=None,
        help="sampler trials only (no model-guided trials)",
    )


def _add_worker_options(p: argparse.ArgumentParser) -> None:
    """Workers, machines, the knob space and the meter."""
    p.add_argument(
        "--n-workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes sharing the study (default 1)",
    )
    p.add_argument(
        "--allow-mixed-machines",
        action="store_true",
        help="let a machine other than the one that measured the study's baseline join: "
        "it gets its own baseline in the study <name>@<fingerprint> (recorded in the study; "
        "kWh are never compared across machines)",
    )
    p.add_argument(
        "--include",
        action="append",
        metavar="KNOBS",
        help="search only these knobs (comma list; may be repeated; default: every knob)",
    )
    p.add_argument(
        "--exclude",
        action="append",
        metavar="KNOBS",
        help="never search these knobs (comma list; may be repeated; default: none)",
    )
    p.add_argument(
        "--meter",
        default=None,
        choices=("auto", "nvml", "rapl", "codecarbon"),
        help="energy meter (default auto)",
    )
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=None,
        metavar="S",
        help="idle power sampled before the first trial (default 2; 0 skips)",
    )


def _add_verdict_and_output_options(p: argparse.ArgumentParser) -> None:
    """Seed, results file, F1 confidence, resume rule and output."""
    p.add_argument("--seed", type=int, default=None, help="sampler seed (default 0)")
    p.add_argument(
        "--results",
        default="greensearch-results.jsonl",
        metavar="PATH",
        help="JSON Lines file every run is appended to (default greensearch-results.jsonl)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=None,
        metavar="C",
        help=(
            "confidence of the one-sided ΔF1 bounds: feasible needs the lower bound within "
            "the budget, infeasible the upper bound outside it, else uncertain; 0.5 is the "
            "point-estimate rule (default 0.95)"
        ),
    )
    p.add_argument(
        "--accept-changed-settings",
        action="store_true",
        help="resume a study even though its budget, confidence, fidelity, study file, knob "
        "space or meter differ (recorded in the study); without it such a resume is refused",
    )
    p.add_argument("--search-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _script_args(args: argparse.Namespace) -> list[str]:
    """``--script-args`` split as a shell would; refused without ``--script`` or when
    its quotes do not close, before anything runs."""
    import shlex

    from greensearch.exceptions import ConfigError

    if args.script_args is None:
        return []
    if args.script is None:
        raise ConfigError("--script-args needs --script: they are the script's arguments")
    try:
        return shlex.split(args.script_args)
    except ValueError as err:
        raise ConfigError(f"--script-args {args.script_args!r}: {err}") from None


def handle(args: argparse.Namespace) -> int:
    """Run the search and render its answer."""
    from greensearch._logs import route_optuna_logs
    from greensearch.knobs import default_registry
    from greensearch.search import optimize, preflight_settings

    route_optuna_logs()
    registry = default_registry()
    script_args = _script_args(args)
    values = _settings_values(args)
    if args.script is not None:  # the search space is what the script declares
        from greensearch.integrations import script_include

        values["include"] = script_include(args.script, values["include"], registry)
    settings = preflight_settings(  # every problem of the command line at once
        args.study, registry=registry, **values
    )
    bar = _Progress(enabled=not (args.quiet or args.json))
    try:
        if args.script is not None:
            from greensearch.integrations import script_search

            result = script_search(
                settings,
                args.script,
                timeout_s=args.script_timeout,
                args=script_args,
                progress=bar.update,
            )
        else:
            result = optimize(settings, progress=bar.update)
    finally:
        bar.close()
    if args.json:
        print_json(result.to_dict())
    elif not args.search_only:
        render(result)
    return 0


def render(result: SearchResult) -> None:
    """Print the result (:func:`greensearch.search.format_result`)."""
    from greensearch.search import format_result

    print(format_result(result))


class _Progress:
    """A tqdm bar on stderr per phase; off when quiet, with --json or when not a TTY."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.phase = ""

    def update(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            label = "search trials" if phase == "search" else "full-fidelity runs, in rounds"
            self.bar = tqdm(
                total=total,
                desc=label,
                file=sys.stderr,
                unit="trial" if phase == "search" else "run",
                disable=not sys.stderr.isatty(),
            )
            self.phase = phase
        self.bar.n = done
        self.bar.refresh()
        if not sys.stderr.isatty():  # a log, not a bar, when stderr is a file or pipe
            label = "search trials" if phase == "search" else "full-fidelity runs, in rounds"
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


#: ``SearchSettings`` fields set from the option of the same name (when given).
_SETTINGS_OPTIONS = (
    "n_trials",
    "production_runs",
    "warm_start",
    "study_name",
    "storage",
    "sampler",
    "fidelity",
    "repeats",
    "max_rounds",
    "baseline_repeats",
    "anchor_every",
    "share_windows",
    "finalists",
    "near_misses",
    "defer_finals",
    "n_workers",
    "seed",
    "confidence",
    "meter",
    "idle_seconds",
)


def _settings_values(args: argparse.Namespace) -> dict[str, Any]:
    """The ``SearchSettings`` values the command line gave; the rest keep the settings' defaults."""
    values: dict[str, Any] = {k: getattr(args, k) for k in _SETTINGS_OPTIONS}
    values = {k: v for k, v in values.items() if v is not None}
    if args.budget_f1 is not None:
        values["budget_f1_pct"] = args.budget_f1  # the text; the settings parse it
    return {
        **values,
        "include": tuple(_split(args.include) or ()),
        "exclude": tuple(_split(args.exclude) or ()),
        "results_path": args.results,
        "prune": args.prune,
        "guide": args.guide,
        "search_only": args.search_only,
        "allow_mixed_machines": args.allow_mixed_machines,
        "accept_changed_settings": args.accept_changed_settings,
    }


def _split(texts: list[str] | None) -> list[str] | None:
    """Knob names from every ``--include`` (or ``--exclude``) given, in order, once each."""
    names = [s.strip() for text in texts or () for s in text.split(",") if s.strip()]
    return list(dict.fromkeys(names)) or None
