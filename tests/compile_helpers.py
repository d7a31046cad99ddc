"""Shared helpers: build small IR graphs, compile them, compare against the reference interpreter."""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.driver import compile_graph
from fuseflow.compiler.interpreter import interpret
from fuseflow.compiler.ir import Graph

# Per-dtype tolerances for compiled-vs-reference comparisons. float32 transcendental
# functions are polynomial approximations accurate to a few ulp, and `contract` fuses a*b+c.
TOLERANCE = {
    "float32": dict(rtol=2e-5, atol=1e-6),
    "float64": dict(rtol=1e-12, atol=1e-14),
}


def graph_with_params(*specs):
    """specs: (shape, dtype) pairs -> (graph, emitter, parameter values)."""
    g = Graph()
    em = Emitter(g)
    params = []
    for i, (shape, dtype) in enumerate(specs):
        p = em.parameter(index=i, shape=tuple(shape), dtype=dtype)
        g.graph["inputs"].append(p.node)
        params.append(p)
    return g, em, params


def compile_and_compare(g, outputs, arrays, *, rtol=None, atol=None, verify_each=True):
    g.graph["outputs"] = list(outputs)
    expected = interpret(g, arrays)
    compiled = compile_graph(g, verify_each=verify_each)
    got = compiled(*arrays)
    assert len(got) == len(expected)
    for e, o in zip(expected, got):
        assert o.shape == e.shape, (o.shape, e.shape)
        assert o.dtype == e.dtype, (o.dtype, e.dtype)
        if e.dtype.kind == "f":
            tol = dict(TOLERANCE[e.dtype.name])
            if rtol is not None:
                tol["rtol"] = rtol
            if atol is not None:
                tol["atol"] = atol
            np.testing.assert_allclose(o, e, equal_nan=True, **tol)
        else:
            np.testing.assert_array_equal(o, e)
    return compiled, got


def random_array(rng, shape, dtype: dt.DType, low=-3.0, high=3.0):
    if dtype.is_bool:
        return rng.random(shape) < 0.5
    if dtype.is_integer:
        return rng.integers(-20, 20, size=shape).astype(dtype.np)
    return rng.uniform(low, high, size=shape).astype(dtype.np)
