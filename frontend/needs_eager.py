"""`NeedsEagerExecution`: a construct fuseflow cannot compile, but can run op by op.

TF compiles everything a `tf.function` traces (py_function, data-dependent while loops, ops
with data-dependent output sizes...). fuseflow's native programs have no loops of unknown
trip count and cannot call back into Python, so such constructs raise this exception while a
graph is built. `Function._trace` (frontend/function.py) catches it and runs calls with that
signature eagerly instead (with a RuntimeWarning), which gives the results TF users expect.

Outside a `fuseflow.function` trace (a TF1 graph, `get_concrete_function`, `lower`) nothing
catches it: it is a NotImplementedError whose message names the construct.
"""
from __future__ import annotations


class NeedsEagerExecution(NotImplementedError):
    """Raised while building a graph by a construct that only runs eagerly in fuseflow."""

    def __init__(self, construct: str, message: str):
        super().__init__(message)
        self.construct = construct      # short name for the warning ("tf.py_function", ...)


def tracing_function() -> bool:
    """True while a `fuseflow.function` is being traced (the innermost graph is a FuncGraph)."""
    from . import graph as graph_mod
    stack = graph_mod._graph_stack
    return bool(stack) and stack[-1].is_function_graph()
