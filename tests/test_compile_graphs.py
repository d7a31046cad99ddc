"""Random fused graphs: elementwise chains, broadcasts, reductions fed back by broadcasting,
transposes and matmuls mixed at random; compiled result vs the reference interpreter."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compile_helpers import compile_and_compare, graph_with_params
from fuseflow.compiler import dtypes as dt

UNARY = ["neg", "abs", "tanh", "sigmoid", "relu", "sin", "square"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]
REDUCE = ["reduce_sum", "reduce_max", "reduce_mean", "reduce_min"]


@st.composite
def random_program(draw):
    n = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([dt.float32, dt.float64]))
    family = [(n, n), (n, 1), (1, n), (n,), ()]
    num_params = draw(st.integers(1, 3))
    param_shapes = [draw(st.sampled_from(family[:4])) for _ in range(num_params)]
    steps = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "transpose", "matmul"]))
        steps.append((kind, draw(st.sampled_from(UNARY)), draw(st.sampled_from(BINARY)),
                      draw(st.sampled_from(REDUCE)), draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)),
                      draw(st.integers(0, 1))))
    outputs = draw(st.lists(st.integers(0, 10**6), min_size=0, max_size=2))
    return n, dtype, param_shapes, steps, outputs, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_program())
def test_random_graph_matches_reference(prog):
    n, dtype, param_shapes, steps, output_picks, seed = prog
    g, em, params = graph_with_params(*[(s, dtype) for s in param_shapes])
    values = list(params)
    for kind, un, bi, red, i, j, axis in steps:
        a = values[i % len(values)]
        b = values[j % len(values)]
        shape = em.type(a).shape
        if kind == "unary":
            values.append(em.emit(un, a))
        elif kind == "binary":
            values.append(em.emit(bi, a, b))
        elif kind == "reduce" and len(shape) == 2:
            values.append(em.emit(red, a, axes=(axis,), keepdims=True))
        elif kind == "transpose" and len(shape) == 2:
            values.append(em.transpose(a, perm=(1, 0)))
        elif kind == "matmul" and shape == (n, n) and em.type(b).shape == (n, n):
            # keep magnitudes bounded so float32 tolerances stay meaningful
            values.append(em.tanh(em.matmul(a, b, transpose_a=bool(axis), transpose_b=False)))
        else:
            values.append(em.tanh(a))
    outs = [values[-1]] + [values[k % len(values)] for k in output_picks]
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1.5, 1.5, size=s).astype(dtype.np) for s in param_shapes]
    compile_and_compare(g, outs, arrays, rtol=1e-4 if dtype == dt.float32 else 1e-10,
                        atol=1e-5 if dtype == dt.float32 else 1e-12)
