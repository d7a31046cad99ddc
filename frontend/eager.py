"""Eager execution: each op runs as a compiled single-op program, cached per signature.

Like JAX's op-by-op mode, eager and compiled code share one definition of every op. String
tensors have no native representation: ops on them (identity, constant, equality) run on
the op's reference implementation instead.
"""
from __future__ import annotations

import threading

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.ir import Attrs, Graph
from fuseflow.compiler.ops.registry import get_op

_cache: dict = {}
_lock = threading.Lock()


def _signature(op_type, arrays, attrs):
    return (op_type, Attrs(attrs), tuple((a.dtype.str, a.shape) for a in arrays))


def single_op_graph(op_type: str, arrays, attrs) -> Graph:
    g = Graph()
    em = Emitter(g)
    params = []
    for i, a in enumerate(arrays):
        p = em.emit("parameter", index=i, shape=tuple(a.shape), dtype=_dtype_of(a), name=f"x{i}")
        g.graph["inputs"].append(p.node)
        params.append(p)
    g.graph["outputs"] = em.emit_multi(op_type, *params, **attrs)
    return g


def _dtype_of(a: np.ndarray) -> dt.DType:
    return dt.string if a.dtype == object else dt.from_numpy(a.dtype)


def execute(op_type: str, arrays, attrs: dict) -> list:
    arrays = [np.asarray(a) for a in arrays]
    opdef = get_op(op_type)
    if any(a.dtype == object for a in arrays) or opdef.kind == "source":
        from fuseflow.compiler.interpreter import interpret
        return interpret(single_op_graph(op_type, arrays, attrs), arrays)
    key = _signature(op_type, arrays, attrs)
    compiled = _cache.get(key)
    if compiled is None:
        from fuseflow.compiler.driver import compile_graph
        g = single_op_graph(op_type, arrays, attrs)
        if any(not t.dtype.native for n in g for t in g.output_types(n)):
            from fuseflow.compiler.interpreter import interpret
            return interpret(g, arrays)
        compiled = compile_graph(g, name=op_type)
        with _lock:
            _cache[key] = compiled
    try:
        return compiled(*arrays)
    except RuntimeError as e:
        if type(e).__name__ != "ExecutionError":
            raise
        # a run-time check failed (e.g. a gather index out of range): TF raises
        # InvalidArgumentError, and we name the user's line
        from .errors import InvalidArgumentError
        from .graph import user_location
        loc = user_location()
        raise InvalidArgumentError(None, None, f"{e}" + (f" [at {loc}]" if loc else "")) from None
