"""The numpy reference interpreter: runs any graph op by op with each op's reference.

It is the oracle for property tests, the constant folder's engine, and the
`--compare-reference` side of the dump tool.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .ir import Attrs, Graph, Value
from .ops.registry import get_op
from .shapes import SymDim


def bind_symbols(g: Graph, args: Sequence[np.ndarray]) -> dict:
    """Size-symbol values implied by the input arrays' shapes."""
    env: dict = {}
    for node, arr in zip(g.graph["inputs"], args):
        for d, actual in zip(g.value_type(Value(node, 0)).shape, np.shape(arr)):
            if isinstance(d, SymDim) and d.kind == "sym":
                env.setdefault(d.args[0], int(actual))
    return env


def resolve_attrs(attrs: Attrs, env: dict) -> Attrs:
    """Replace symbolic dims inside attrs with their bound values."""
    def res(v):
        if isinstance(v, SymDim):
            return v.evaluate(env)
        if isinstance(v, tuple):
            return tuple(res(x) for x in v)
        return v
    if not env:
        return attrs
    return Attrs({k: res(v) for k, v in attrs.items()})


def run_node(g: Graph, n: int, inputs: list, env: Optional[dict] = None) -> list:
    d = g.nodes[n]
    outs = get_op(d["op"]).reference(inputs, resolve_attrs(d["attrs"], env or {}))
    results = []
    for arr, t in zip(outs, d["outputs"]):
        arr = np.asarray(arr)
        if arr.dtype != t.dtype.np and not t.dtype.is_string:
            arr = arr.astype(t.dtype.np)
        results.append(arr)
    return results


def interpret(g: Graph, args: Sequence = (), *, trace: Optional[dict] = None) -> list:
    """Evaluate the graph's outputs for `args` (one array per graph input).

    If `trace` is a dict it receives every node's outputs (node id -> list of arrays)."""
    inputs = g.graph["inputs"]
    if len(args) != len(inputs):
        raise ValueError(f"graph expects {len(inputs)} inputs, got {len(args)}")
    env = bind_symbols(g, args)
    values: dict = {}
    for node, arr in zip(inputs, args):
        values[node] = [np.asarray(arr, dtype=g.value_type(Value(node, 0)).dtype.np)]
    for n in g.topo():
        if n in values:
            continue
        ins = [values[v.node][v.out] for v in g.operands(n)]
        values[n] = run_node(g, n, ins, env)
    if trace is not None:
        trace.update(values)
    return [values[v.node][v.out] for v in g.graph["outputs"]]
