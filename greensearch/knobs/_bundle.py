"""The textual form of a knob bundle: ``layer_prune=12:bottom,seq_len=512,torch_compile``.

One grammar for the command line, the paper's ``code_bundle`` column and stored trial
records, so a bundle reads the same everywhere. Values stay strings here; the registry
validates and converts them (this module knows no knob).
"""

from __future__ import annotations

import re

from greensearch.exceptions import ConfigError

__all__ = ["Bundle", "parse_bundle", "format_bundle", "FLAG_ON"]

#: A bundle maps knob name to its raw value string (``FLAG_ON`` for a bare flag).
Bundle = dict[str, str]

#: The value a bare flag such as ``torch_compile`` gets.
FLAG_ON = "on"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_bundle(text: str) -> Bundle:
    """Parse ``a=1,b=x:y,c`` into ``{"a": "1", "b": "x:y", "c": "on"}``.

    Whitespace around items is ignored and an empty text is the empty bundle (the baseline).

    Raises:
        ConfigError: on a malformed name, an empty value or a knob given twice.
    """
    bundle: Bundle = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not _NAME.match(name):
            raise ConfigError(
                f"bad knob name {name!r} in {text!r}; use snake_case names as listed by "
                "`greensearch knobs`"
            )
        if sep and not value:
            raise ConfigError(f"knob '{name}' has an empty value in {text!r}; write {name}=VALUE")
        if name in bundle:
            raise ConfigError(f"knob '{name}' is given twice in {text!r}; keep one")
        bundle[name] = value if sep else FLAG_ON
    return bundle


def format_bundle(bundle: Bundle) -> str:
    """Render a bundle canonically (sorted by name, flags bare); inverse of :func:`parse_bundle`."""
    parts = [
        name if value == FLAG_ON else f"{name}={value}" for name, value in sorted(bundle.items())
    ]
    return ",".join(parts)
