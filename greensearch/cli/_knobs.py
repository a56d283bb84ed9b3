"""``greensearch knobs``: the registry as a table, with availability on this machine."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from greensearch.cli._render import machine_line, print_json, print_table

if TYPE_CHECKING:
    from greensearch.machine import Machine

__all__ = ["add_parser", "knob_rows", "render"]


def add_parser(sub: Any) -> None:
    """Register the ``knobs`` subcommand."""
    p = sub.add_parser(
        "knobs",
        help="list the knobs and whether they run here",
        description="List every knob: stage, targeted resources, parameters, "
        "and whether it is available on this machine (or why not).",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list of knob objects")
    p.set_defaults(handler=handle)


def knob_rows(machine: Machine | None = None) -> list[dict[str, Any]]:
    """One dict per registered knob, in registry order, judged on ``machine`` (default: here)."""
    from greensearch.knobs import default_registry
    from greensearch.machine import describe_machine

    machine = machine if machine is not None else describe_machine()
    rows = []
    for knob in default_registry():
        reason = knob.unavailable_reason()
        rows.append(
            {
                "name": knob.name,
                "phase": knob.phase,
                "stage": knob.phase,  # the key's name before Knob.phase, kept for readers
                "targets": list(knob.targets),
                "costs": list(knob.costs),
                "params": [
                    {
                        "name": p.name,
                        "type": p.type.__name__,
                        "default": p.default,
                        "choices": list(p.choices) if p.choices is not None else None,
                        "low": p.low,
                        "high": p.high,
                    }
                    for p in knob.params
                ],
                "search_values": list(knob.values_for_search()),
                "conflicts": list(knob.conflicts),
                # the metered windows its work changes (None: all; search._shared_windows)
                "windows": None if knob.windows is None else list(knob.windows),
                "value_windows": {v: list(w) for v, w in knob.value_windows.items()},
                # whether it changes what the model computes (false: the same F1, seed for seed)
                "numerics": knob.numerics,
                "description": knob.description,
                "available": reason is None,
                "reason": reason,
                "unavailable_values": knob.unavailable_values(),
                "emulated_values": knob.emulated_values(machine),
            }
        )
    return rows


def handle(args: argparse.Namespace) -> int:
    """Print the registry."""
    from greensearch.machine import describe_machine

    machine = describe_machine()
    rows = knob_rows(machine)
    if args.json:
        print_json(rows)
        return 0
    print(f"machine: {machine_line(machine.to_dict())}")
    render(rows)
    return 0


def render(rows: list[dict[str, Any]]) -> None:
    """The registry as a table; emulated precisions are available, with their cost noted."""
    table = []
    for row in rows:
        params = ":".join(_describe(p) for p in row["params"]) or "(flag)"
        where = "yes" if row["available"] else f"no: {row['reason']}"
        if row["available"] and row["unavailable_values"]:
            where = "yes, except " + "; ".join(
                f"{v} ({why.split(';')[0]})" for v, why in row["unavailable_values"].items()
            )
        if row["available"] and row["emulated_values"]:
            where += "; " + "; ".join(row["emulated_values"].values())
        table.append([row["name"], row["phase"], ",".join(row["targets"]), params, where])
    print_table(["knob", "phase", "targets", "params", "available here"], table, align="lllll")


def _describe(p: dict[str, Any]) -> str:
    if p["choices"]:
        text = "|".join(str(c) for c in p["choices"])
        return text if len(text) <= 30 else f"{p['name'].upper()}({len(p['choices'])} choices)"
    return f"{p['name'].upper()}"
