"""How `fuseflow.function` binds variables: the bridge between traced graphs and Variable objects.

Kept apart from function.py so the tracing/caching logic does not depend on how variables
store their values. The replay contract itself is documented in variables.py: reads of an
eager variable become one graph parameter per variable (keyed `VariableParam`), assignments
become extra outputs, donated to that parameter so the native code updates the variable's
own buffer in place.
"""
from __future__ import annotations

from fuseflow.compiler.ops.registry import get_op


_modules: dict = {}


def _variables():
    mod = _modules.get("variables")
    if mod is None:
        from . import variables as mod
        _modules["variables"] = mod
    return mod


def stateful_ops(graph) -> list:
    """Ops that must run even when no output depends on them: assignments and stateful compiler ops."""
    out = list(_variables().stateful_ops(graph))
    seen = {id(op) for op in out}
    for op in graph.get_operations():
        if id(op) in seen:
            continue
        try:
            if get_op(op.ir_op).stateful:
                out.append(op)
        except NotImplementedError:
            pass
    return out


def replay_setup(graph):
    return _variables().replay_setup(graph)


def collect_updates(ctx) -> list:
    return _variables().collect_updates(ctx)


def variable_of_param(key):
    return _variables().variable_of_param(key)


def variable_buffer(var):
    return _variables().variable_buffer(var)


def write_variable(var, value, donated: bool):
    _variables().write_variable(var, value, donated)


def after_trace(graph):
    """Nothing to finalize: variables used inside were recorded by `FuncGraph.watch_variable`."""
