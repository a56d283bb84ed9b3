"""Shared pieces of the benchmark scripts: no-op knob registries, provenance, CSV helpers,
the transcript a script prints and keeps for its result file."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import platform
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greensearch.config import StudyConfig  # noqa: E402 (after the path set-up)
from greensearch.knobs import Bundle, KnobRegistry, RunPlan, default_registry  # noqa: E402 (after the path set-up)

RESULTS = ROOT / "benchmarks" / "results"


class Transcript:
    """What a benchmark prints, kept for its result file (:func:`write_text`).

    Call it with a line: the line is printed (unless echo is off, for the whole
    transcript or for this line) and kept; :attr:`text` is every line kept.
    """

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self._buf = io.StringIO()

    def __call__(self, line: str, *, echo: bool | None = None) -> None:
        if self.echo if echo is None else echo:
            print(line, flush=True)
        self._buf.write(line + "\n")

    @property
    def text(self) -> str:
        """Every line kept, each ending in a newline."""
        return self._buf.getvalue()


def _noop(plan: RunPlan, value: dict[str, Any]) -> None:
    plan.note("replayed: no-op")


def noop_registry(items: Mapping[str, str]) -> tuple[KnobRegistry, dict[str, str]]:
    """A registry of the named built-in knobs that do nothing, each with one search value.

    Targets, costs, params and conflicts are the real ones (so the orthogonality checker
    reasons as it would on the real knobs); machine needs and study checks are dropped,
    so a replayed search can sample ``pin_memory`` or ``inference_engine=vllm`` on a CPU.

    Args:
        items: knob name -> raw value (``{"layer_prune": "12:bottom"}``).

    Returns:
        The registry and knob name -> canonical value text (the landscape's keys use it).
    """
    real = default_registry()
    reg = KnobRegistry()
    canon: dict[str, str] = {}
    for name, raw in items.items():
        knob = real.get(name)
        value = knob.format_value(knob.parse(raw))
        canon[name] = value
        reg.register(
            dataclasses.replace(
                knob, apply=_noop, needs=(), value_needs={}, validate=None, search_values=(value,)
            )
        )
    return reg, canon


def bundle_of(on: Iterable[str], canon: Mapping[str, str]) -> Bundle:
    """The bundle with the named knobs on at their landscape value."""
    return {name: canon[name] for name in on}


def machine() -> str:
    """One line naming this machine: CPU model, cores, torch's ISA level, native dtypes, GPUs."""
    from greensearch.machine import describe_machine

    m = describe_machine()
    return f"{platform.node()} ({m.summary()}, {platform.system()}; fingerprint {m.fingerprint})"


def now_utc() -> str:
    """Current UTC time, ISO format to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def command() -> str:
    """The command line that is running, for provenance."""
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def code_version() -> str:
    """``git`` commit of the tree, plus the package files that differ from it (if any)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "greensearch"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def provenance(meter: str, method: str, **extra: Any) -> dict[str, str]:
    """Machine, date, meter, method, command and code version, for result files."""
    out = {
        "machine": machine(),
        "date_utc": now_utc(),
        "meter": meter,
        "method": method,
        "command": command(),
        "code": code_version(),
    }
    out.update({k: str(v) for k, v in extra.items()})
    return out


def write_csv(path: Path, rows: list[dict[str, Any]], meta: Mapping[str, str]) -> None:
    """Write ``rows`` with ``# key: value`` provenance lines on top (pandas: ``comment='#'``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        for key, value in meta.items():
            f.write(f"# {key}: {value}\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def read_csv(path: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Rows and provenance of a file written by :func:`write_csv` (or appended to)."""
    meta: dict[str, str] = {}
    lines = []
    with path.open(newline="", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                key, _, value = line[1:].strip().partition(": ")
                meta[key] = value
            elif line.strip():
                lines.append(line)
    return list(csv.DictReader(lines)), meta


def write_text(path: Path, text: str, meta: Mapping[str, str]) -> None:
    """Write a benchmark's printed report with its provenance on top."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "".join(f"# {k}: {v}\n" for k, v in meta.items())
    path.write_text(head + text, encoding="utf-8")


#: A ModernBERT small enough to train in seconds on 2 cores (smoke modes, measured landscape).
TINY_ARCH = {
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "global_attn_every_n_layers": 2,
    "local_attention": 32,
}


def quick_study(scratch: Path) -> StudyConfig:
    """A tiny study on 300 embedded rows: the benchmarks' ``--quick`` smoke modes."""
    import gzip

    import pandas as pd

    from greensearch.data._loaders import EMBEDDED_DATASETS  # noqa: F401  (ensures data present)

    root = Path(__file__).resolve().parents[1] / "greensearch" / "data" / "embedded"
    with gzip.open(root / "vulnsynth-train.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][:300]
    path = scratch / "quick_data.csv"
    pd.DataFrame(rows)[["func_before", "vul"]].to_csv(path, index=False)
    return StudyConfig(
        name="quick",
        dataset=str(path),
        max_length=64,
        model_config=dict(TINY_ARCH),
        source="<quick>",
    )
