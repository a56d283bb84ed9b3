"""Knobs: declarative pipeline optimizations, their registry and the bundle grammar."""

from greensearch.knobs._bundle import FLAG_ON, Bundle, format_bundle, parse_bundle

__all__ = ["FLAG_ON", "Bundle", "format_bundle", "parse_bundle"]
