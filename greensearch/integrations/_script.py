"""Search around a user's own script: one subprocess per run, metered whole.

The script declares the knobs it honours in a header line near its top::

    # greensearch: knobs=seq_len,precision,data_fraction

and the search space is those knobs. Each run gets its bundle, seed, fidelity and a
report path through the environment (see :mod:`greensearch.integrations._reporter`);
the whole process is one ``script`` energy window. A script that exits non-zero, runs
past the timeout or reports nothing fails its trial with that reason, and the study
goes on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, StageFailedError
from greensearch.integrations._reporter import (
    BUNDLE_ENV,
    FIDELITY_ENV,
    REPORT_ENV,
    REPORT_SCHEMA,
    SEED_ENV,
    report_predictions,
)
from greensearch.knobs import Bundle, KnobRegistry, format_bundle
from greensearch.pipeline import kept_metrics, repeat_runs, run_stages
from greensearch.schema import SCRIPT_WINDOW

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from greensearch.energy import Meter
    from greensearch.search import SearchResult, SearchSettings

__all__ = [
    "SCRIPT_WINDOW",
    "ScriptRunner",
    "declared_knobs",
    "script_include",
    "script_search",
]

#: Lines of the script searched for the knob declaration.
_HEADER_LINES = 40
_HEADER = re.compile(r"^\s*#\s*greensearch:\s*knobs\s*=\s*(?P<names>.*?)\s*$")
#: Lines of the script's stderr kept for a failed trial's reason.
_TAIL_LINES = 5


def declared_knobs(script: str | Path, registry: KnobRegistry) -> tuple[str, ...]:
    """The knobs ``script`` declares in its ``# greensearch: knobs=a,b`` header.

    Raises:
        ConfigError: the script is missing, declares nothing, or names an unknown knob.
    """
    path = Path(script)
    if not path.is_file():
        raise ConfigError(f"script '{script}' not found; pass an existing Python file to --script")
    with path.open(encoding="utf-8", errors="replace") as f:
        head = [line for _, line in zip(range(_HEADER_LINES), f, strict=False)]
    found = [m.group("names") for m in map(_HEADER.match, head) if m]
    if not found:
        raise ConfigError(
            f"script '{script}' declares no knobs; add a line '# greensearch: knobs=seq_len,"
            f"precision' (the knobs it honours) within its first {_HEADER_LINES} lines"
        )
    names = tuple(dict.fromkeys(n.strip() for n in ",".join(found).split(",") if n.strip()))
    if not names:
        raise ConfigError(f"script '{script}' declares an empty knob list; name at least one")
    for name in names:
        try:
            registry.get(name)
        except ConfigError as err:
            raise ConfigError(f"script '{script}' declares {err}") from None
    return names


@dataclass(frozen=True, slots=True)
class ScriptRunner:
    """Callable like :func:`greensearch.pipeline.run_variant`, running a user's script.

    Attributes:
        script: The Python file to run.
        timeout_s: Longest a run may take before it is killed and its trial failed.
        args: Extra command-line arguments for the script.
        python: The interpreter (default: this one).
    """

    script: Path
    timeout_s: float = 3600.0
    args: tuple[str, ...] = ()
    python: str = sys.executable

    def __call__(
        self,
        study: StudyConfig,
        bundle: Bundle,
        *,
        repeats: int = 1,
        meter: Any,
        fidelity: float = 1.0,
        results_path: str | Path | None = None,
        variant: str | None = None,
        registry: KnobRegistry | None = None,
        first_repeat: int = 0,
        **_: Any,
    ) -> dict[str, Any]:
        """Run the script ``repeats`` times with ``bundle``; the summary of its records."""
        knobs = registry.canonical(bundle) if registry is not None else format_bundle(bundle)

        def one(_: int, seed: int) -> dict[str, Any]:
            return self.run_once(study, bundle, knobs, meter=meter, fidelity=fidelity, seed=seed)

        return repeat_runs(
            one,
            seed=study.seed,
            repeats=repeats,
            first_repeat=first_repeat,
            variant=variant,
            results_path=results_path,
        )

    def run_once(
        self,
        study: StudyConfig,
        bundle: Bundle,
        knobs: str,
        *,
        meter: Any,
        fidelity: float,
        seed: int,
    ) -> dict[str, Any]:
        """One metered run of the script; its run record.

        Raises:
            StageFailedError: the script failed, hung or reported nothing (``stage`` is
                ``script``).
        """
        with tempfile.TemporaryDirectory(prefix="greensearch-script-") as tmp:
            report = Path(tmp) / "report.json"
            env = {
                **os.environ,
                BUNDLE_ENV: json.dumps(dict(bundle), sort_keys=True),
                SEED_ENV: str(seed),
                FIDELITY_ENV: repr(float(fidelity)),
                REPORT_ENV: str(report),
            }
            metered = run_stages(
                meter,
                [(SCRIPT_WINDOW, lambda: self._run_process(env))],
                extra_windows=(),
            )
            data = _read_report(report, self.script)
        try:
            predictions = report_predictions(data, seed=seed)
        except (ConfigError, TypeError, ValueError) as err:
            raise StageFailedError(
                SCRIPT_WINDOW, f"bad report of {self.script.name}: {err}"
            ) from err
        planned = data.get("planned_steps") or 1
        return {
            "study": study.name,
            "study_file": study.source,
            "script": str(self.script),
            "knobs": knobs,
            "notes": [f"script: {self.script.name} ran with {format_bundle(bundle) or 'no knob'}"],
            **metered.record_fields(),
            "seed": seed,
            "split_seed": study.seed,
            "metrics": kept_metrics(predictions).to_dict(),
            "predictions": predictions.to_record(),
            "fidelity": fidelity,
            "train_steps": data.get("train_steps") or planned,
            "planned_steps": planned,
            # the script's training loop, inside its one window: what a short run scales
            "script_train_s": data.get("train_seconds"),
            "step_clock": None,
            "train_loss": None,
            "model_dir": None,
        }

    def _run_process(self, env: dict[str, str]) -> None:
        """Run the script to its end; a crash or a hang is a ``StageFailedError``."""
        proc = subprocess.Popen(
            [self.python, str(self.script), *self.args],
            env=env,
            cwd=self.script.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own group: a hang is killed with its children
        )
        try:
            _, err = proc.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise StageFailedError(
                SCRIPT_WINDOW,
                f"{self.script.name} ran past --script-timeout {self.timeout_s:g} s and was "
                "killed; raise the timeout or lower --fidelity",
            ) from None
        if proc.returncode != 0:
            tail = " | ".join(deque((ln for ln in err.splitlines() if ln.strip()), _TAIL_LINES))
            raise StageFailedError(
                SCRIPT_WINDOW,
                f"{self.script.name} exited with code {proc.returncode}: {tail or 'no stderr'}",
            )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _read_report(path: Path, script: Path) -> dict[str, Any]:
    """The script's report, checked; a missing or malformed one fails the run."""
    if not path.is_file():
        raise StageFailedError(
            SCRIPT_WINDOW,
            f"{script.name} exited 0 but reported nothing; call greensearch.report_run("
            "predictions=..., labels=...) at its end",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ok = isinstance(data, dict) and data.get("schema_version") == REPORT_SCHEMA
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise StageFailedError(SCRIPT_WINDOW, f"unreadable report of {script.name}: {err}") from err
    if not ok:
        raise StageFailedError(
            SCRIPT_WINDOW, f"bad report of {script.name}: write it with greensearch.report_run"
        )
    return dict(data)


def script_include(
    script: str | Path, include: Sequence[str] | None, registry: KnobRegistry
) -> tuple[str, ...]:
    """The knobs to search on ``script``: those it declares, or the ``include`` subset.

    Raises:
        ConfigError: see :func:`declared_knobs`; or ``include`` names an undeclared knob.
    """
    declared = declared_knobs(script, registry)
    if not include:
        return declared
    undeclared = [n for n in include if n not in declared]
    if undeclared:
        raise ConfigError(
            f"--include names {', '.join(undeclared)}, which script '{script}' does not "
            f"declare (it honours {', '.join(declared)}); add them to its knobs= header"
        )
    return tuple(include)


def script_search(
    settings: SearchSettings,
    script: str | Path,
    *,
    timeout_s: float = 3600.0,
    args: Sequence[str] = (),
    meter: Meter | None = None,
    storage: BaseStorage | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SearchResult:
    """Search the knobs ``script`` declares, running it once per run.

    The study is named after the script (so its storage does not mix with the staged
    pipeline's); the study file, if any, still gives the seed and the limits the knobs
    are checked against (``seq_len`` below ``max_length``).

    Args:
        settings: What to search and how; ``include`` may narrow the declared knobs.
        script: The user's Python file, with a ``# greensearch: knobs=...`` header.
        timeout_s: Longest one run may take; a slower run fails its trial.
        args: Extra command-line arguments for the script.
        meter: A meter object instead of opening ``settings.meter``.
        storage: An Optuna storage object instead of ``settings.storage``.
        progress: Called as ``progress(phase, done, total)`` after each trial.

    Raises:
        ConfigError: the script is missing or declares no or unknown knobs, or a bad
            timeout; all before any energy is spent.
    """
    from greensearch.integrations._common import search_with_runner
    from greensearch.search import load_registry

    if not timeout_s > 0:
        raise ConfigError(f"--script-timeout must be a positive number of seconds, got {timeout_s}")
    registry = load_registry(settings.registry)
    path = Path(script).resolve()
    include = script_include(script, settings.include, registry)
    study = settings.study.replace(name=path.stem, source=str(path))
    runner = ScriptRunner(path, timeout_s=float(timeout_s), args=tuple(args))
    return search_with_runner(
        settings.replace(study=study, include=include),
        runner,
        registry=registry,
        meter=meter,
        storage=storage,
        progress=progress,
    )
