"""Benchmarks of greensearch (scripts; see ``benchmarks/README.md``)."""
