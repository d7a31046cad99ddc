"""How `fuseflow.function` binds variables: the bridge between traced graphs and Variable objects.

Kept apart from function.py so the tracing/caching logic does not depend on how variables
store their values (see variables.py for the replay handler contract).
"""
from __future__ import annotations

from fuseflow.compiler.ops.registry import get_op


def stateful_ops(graph) -> list:
    """Ops that must run even when no output depends on them (assignments, stateful ops)."""
    out = []
    for op in graph.get_operations():
        if op.type.startswith("assign") or getattr(op, "_variable", None) is not None and op.type != "read_variable":
            out.append(op)
            continue
        try:
            if get_op(op.type).stateful:
                out.append(op)
        except NotImplementedError:
            pass
    return out


def replay_setup(graph):
    return {}, {}


def collect_updates(ctx) -> list:
    return []


def variable_of_param(key):
    raise TypeError(f"fuseflow.function: unexpected graph parameter {key!r}")


def variable_buffer(var):
    raise TypeError(f"fuseflow.function: {var!r} is not a variable")


def write_variable(var, value, donated: bool):
    raise TypeError(f"fuseflow.function: {var!r} is not a variable")


def after_trace(graph):
    pass
