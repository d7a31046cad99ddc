"""Debugging tools over compiled programs: kernel views, DOT graphs, NaN/Inf localization,
comparison against the reference interpreter, and per-kernel profiles (see docs/dump.md)."""
