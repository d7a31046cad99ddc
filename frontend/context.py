"""Execution mode: eager (TF2 default) or graph building (TF1 after disable_eager_execution)."""
from __future__ import annotations

from . import graph as _graph   # (graph.py reads _state at call time only: no import cycle at load)

_state = {"eager": True}


def executing_eagerly() -> bool:
    return _state["eager"] and not _graph._graph_stack


def enable_eager_execution(config=None, device_policy=None, execution_mode=None):
    _state["eager"] = True


def disable_eager_execution():
    _state["eager"] = False


def eager_enabled_globally() -> bool:
    return _state["eager"]
