"""Compiled native code vs the numpy reference interpreter, op by op, on random shapes,
broadcasts, axes and dtypes (including size-0 and size-1 dims and non-contiguous inputs)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from compile_helpers import compile_and_compare, graph_with_params, random_array
from fuseflow.compiler import dtypes as dt

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
FLOATS = [dt.float32, dt.float64]
SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)

UNARY_FLOAT = ["neg", "abs", "sign", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "square", "reciprocal",
               "sin", "cos", "tanh", "sigmoid", "relu", "relu6", "elu", "softplus", "floor", "ceil", "round", "erf",
               "selu", "softsign"]
POSITIVE_DOMAIN = {"log", "sqrt", "rsqrt"}
LOOSE = {"sin": 1e-4, "cos": 1e-4, "erf": 1e-4, "expm1": 1e-4, "log1p": 1e-4, "softplus": 1e-4, "elu": 1e-4,
         "selu": 1e-4, "tanh": 1e-4, "sigmoid": 1e-4, "rsqrt": 1e-4, "reciprocal": 1e-5}


@pytest.mark.parametrize("op", UNARY_FLOAT)
@SETTINGS
@given(shape=SHAPES, dtype=st.sampled_from(FLOATS), seed=st.integers(0, 2**31 - 1))
def test_unary(op, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    low = 0.01 if op in POSITIVE_DOMAIN else -6.0
    x = random_array(rng, shape, dtype, low=low, high=6.0)
    g, em, (p,) = graph_with_params((shape, dtype))
    rtol = LOOSE.get(op) if dtype == dt.float32 else None
    compile_and_compare(g, [em.emit(op, p)], [x], rtol=rtol, atol=1e-6 if rtol else None)


BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "squared_difference", "pow", "floordiv", "mod"]


@pytest.mark.parametrize("op", BINARY)
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=5),
       dtype=st.sampled_from(FLOATS + [dt.int32, dt.int64]), seed=st.integers(0, 2**31 - 1))
def test_binary_broadcasting(op, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a = random_array(rng, a_shape, dtype)
    b = random_array(rng, b_shape, dtype)
    if op == "pow":
        a = np.abs(a) + (0.5 if dtype.is_floating else 0)
        b = (np.abs(b) % 4).astype(dtype.np)
    g, em, (x, y) = graph_with_params((a_shape, dtype), (b_shape, dtype))
    rtol = 1e-4 if op == "pow" and dtype == dt.float32 else None
    compile_and_compare(g, [em.emit(op, x, y)], [a, b], rtol=rtol)


@pytest.mark.parametrize("op", ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"])
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=5),
       dtype=st.sampled_from([dt.float32, dt.int32, dt.int64]), seed=st.integers(0, 2**31 - 1))
def test_comparisons(op, shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a = np.round(random_array(rng, a_shape, dtype)).astype(dtype.np)
    b = np.round(random_array(rng, b_shape, dtype)).astype(dtype.np)
    g, em, (x, y) = graph_with_params((a_shape, dtype), (b_shape, dtype))
    compile_and_compare(g, [em.emit(op, x, y)], [a, b])


def test_integer_division_semantics_match_numpy():
    a = np.array([7, -7, 7, -7, 0, 5, np.iinfo(np.int32).min], np.int32)
    b = np.array([2, 2, -2, -2, 3, 0, -1], np.int32)
    for op in ("floordiv", "mod", "div"):
        g, em, (x, y) = graph_with_params((a.shape, dt.int32), (b.shape, dt.int32))
        compile_and_compare(g, [em.emit(op, x, y)], [a, b])


def test_logical_and_select():
    rng = np.random.default_rng(0)
    c = rng.random((4, 5)) < 0.5
    d = rng.random((5,)) < 0.5
    a = rng.standard_normal((4, 5)).astype(np.float32)
    g, em, (pc, pd, pa) = graph_with_params(((4, 5), dt.bool_), ((5,), dt.bool_), ((4, 5), dt.float32))
    cond = em.logical_or(em.logical_and(pc, em.logical_not(pd)), em.logical_xor(pc, pd))
    out = em.select(cond, pa, em.neg(pa))
    compile_and_compare(g, [cond, out], [c, d, a])


@SETTINGS
@given(shape=SHAPES, src=st.sampled_from([dt.float32, dt.float64, dt.int32, dt.int64, dt.bool_]),
       dst=st.sampled_from([dt.float32, dt.float64, dt.int32, dt.int64, dt.bool_]), seed=st.integers(0, 2**31 - 1))
def test_cast(shape, src, dst, seed):
    rng = np.random.default_rng(seed)
    x = random_array(rng, shape, src, low=-100, high=100)
    g, em, (p,) = graph_with_params((shape, src))
    compile_and_compare(g, [em.cast(p, dtype=dst)], [x])


REDUCTIONS = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"]


@pytest.mark.parametrize("op", REDUCTIONS)
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), data=st.data(),
       dtype=st.sampled_from(FLOATS + [dt.int32]), keepdims=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_reductions(op, shape, data, dtype, keepdims, seed):
    rank = len(shape)
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, rank - 1), min_size=0, max_size=rank))))
    rng = np.random.default_rng(seed)
    x = random_array(rng, shape, dtype, low=-2, high=2)
    if op == "reduce_prod" and dtype.is_integer:
        x = (x % 3).astype(dtype.np)
    g, em, (p,) = graph_with_params((shape, dtype))
    compile_and_compare(g, [em.emit(op, p, axes=axes, keepdims=keepdims)], [x], rtol=1e-4 if dtype == dt.float32 else None)


@pytest.mark.parametrize("op", ["reduce_any", "reduce_all"])
def test_bool_reductions(op):
    rng = np.random.default_rng(1)
    x = rng.random((3, 4, 5)) < 0.3
    for axes in [(), (0,), (1, 2), (0, 1, 2)]:
        g, em, (p,) = graph_with_params((x.shape, dt.bool_))
        compile_and_compare(g, [em.emit(op, p, axes=axes, keepdims=False)], [x])


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), data=st.data(),
       dtype=st.sampled_from([dt.float32, dt.int32]), seed=st.integers(0, 2**31 - 1))
def test_arg_reductions(op, shape, data, dtype, seed):
    axis = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = np.round(random_array(rng, shape, dtype)).astype(dtype.np)   # rounding makes ties likely
    g, em, (p,) = graph_with_params((shape, dtype))
    compile_and_compare(g, [em.emit(op, p, axis=axis, output_type=dt.int64)], [x])


def test_nan_propagates_through_max():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], np.float32)
    g, em, (p,) = graph_with_params((x.shape, dt.float32))
    compile_and_compare(g, [em.reduce_max(p, axes=(1,), keepdims=False), em.maximum(p, em.scalar_like(2.0, p))], [x])


@SETTINGS
@given(m=st.integers(0, 9), k=st.integers(0, 9), n=st.integers(0, 9), ta=st.booleans(), tb=st.booleans(),
       dtype=st.sampled_from(FLOATS + [dt.int32]), seed=st.integers(0, 2**31 - 1))
def test_matmul(m, k, n, ta, tb, dtype, seed):
    rng = np.random.default_rng(seed)
    a_shape = (k, m) if ta else (m, k)
    b_shape = (n, k) if tb else (k, n)
    a, b = random_array(rng, a_shape, dtype), random_array(rng, b_shape, dtype)
    g, em, (x, y) = graph_with_params((a_shape, dtype), (b_shape, dtype))
    compile_and_compare(g, [em.matmul(x, y, transpose_a=ta, transpose_b=tb)], [a, b], rtol=1e-4 if dtype == dt.float32 else None)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_blocked_matmul_with_fused_epilogue(ta, tb):
    rng = np.random.default_rng(7)
    m, k, n = 70, 45, 33          # above the small-matmul threshold: the blocked kernel
    a_shape = (k, m) if ta else (m, k)
    b_shape = (n, k) if tb else (k, n)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    g, em, (x, y, z) = graph_with_params((a_shape, dt.float32), (b_shape, dt.float32), ((n,), dt.float32))
    out = em.relu(em.add(em.matmul(x, y, transpose_a=ta, transpose_b=tb), z))
    compiled, _ = compile_and_compare(g, [out], [a, b, bias], rtol=1e-4, atol=1e-5)
    from fuseflow.compiler.loopir import MatmulTemplate
    assert any(isinstance(st, MatmulTemplate) for kern in compiled.program.kernels for st in kern.body)


def test_batched_matmul_with_broadcast_batch():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 2)).astype(np.float32)
    g, em, (x, y) = graph_with_params((a.shape, dt.float32), (b.shape, dt.float32))
    bias = em.constant(np.arange(2, dtype=np.float32))
    out = em.relu(em.add(em.matmul(x, y, transpose_a=False, transpose_b=False), bias))
    compile_and_compare(g, [out], [a, b], rtol=1e-4)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5), data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_transpose_reshape_broadcast(shape, data, seed):
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    g, em, (p,) = graph_with_params((shape, dt.float32))
    t = em.transpose(em.exp(p), perm=perm)
    r = em.reshape(t, shape=(-1,))
    b = em.broadcast_to(em.reshape(p, shape=(1,) + tuple(shape)), shape=(2,) + tuple(shape))
    compile_and_compare(g, [t, r, em.mul(b, em.scalar_like(2.0, b))], [x])


def test_non_contiguous_inputs_are_accepted():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((8, 6)).astype(np.float32)
    x = base[::2, ::3]
    g, em, (p,) = graph_with_params((x.shape, dt.float32))
    compile_and_compare(g, [em.exp(p)], [x])
    xt = base.T
    g, em, (p,) = graph_with_params((xt.shape, dt.float32))
    compile_and_compare(g, [em.tanh(p)], [xt])


def test_symbolic_batch_runs_for_any_batch():
    from fuseflow.compiler.driver import compile_graph
    from fuseflow.compiler.interpreter import interpret
    from fuseflow.compiler.shapes import SymDim
    b = SymDim.symbol("b")
    g, em, (x, w) = graph_with_params(((b, 3), dt.float32), ((3, 4), dt.float32))
    y = em.reduce_sum(em.exp(em.matmul(x, w, transpose_a=False, transpose_b=False)), axes=(1,), keepdims=False)
    z = em.reshape(x, shape=(-1,))
    g.graph["outputs"] = [y, z]
    compiled = compile_graph(g, verify_each=True)
    rng = np.random.default_rng(0)
    wv = rng.standard_normal((3, 4)).astype(np.float32)
    for batch in (1, 2, 7, 0):
        xv = rng.standard_normal((batch, 3)).astype(np.float32)
        got = compiled(xv, wv)
        want = interpret(g, [xv, wv])
        for o, e in zip(got, want):
            assert o.shape == e.shape
            np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-6)


def _sgd_graph():
    g, em, (w, x, y) = graph_with_params(((6, 4), dt.float32), ((5, 6), dt.float32), ((5, 4), dt.float32))
    pred = em.matmul(x, w, transpose_a=False, transpose_b=False)
    err = em.sub(pred, y)
    loss = em.reduce_mean(em.square(err), axes=(0, 1), keepdims=False)
    grad = em.matmul(x, err, transpose_a=True, transpose_b=False)
    # grad has a second consumer, so the update is its own elementwise kernel (as in Adam)
    w_new = em.sub(w, em.mul(em.scalar_like(0.1, grad), em.tanh(grad)))
    # a consumer of w that topologically could run after the update: it must still see the old w
    w_sum = em.reduce_sum(em.mul(w, w), axes=(0, 1), keepdims=False)
    g.graph["outputs"] = [loss, w_new, w_sum, em.reduce_sum(grad, axes=(0, 1), keepdims=False)]
    return g


def test_donated_output_is_updated_in_place_without_a_copy():
    from fuseflow.compiler.driver import compile_graph
    from fuseflow.compiler.interpreter import interpret
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    y = rng.standard_normal((5, 4)).astype(np.float32)
    g = _sgd_graph()
    want = interpret(g, [w, x, y])
    compiled = compile_graph(g, donate={1: 0}, verify_each=True)
    assert not [k for k in compiled.program.kernels if k.name.startswith("copy_")]
    w_buf = w.copy()
    for _ in range(2):
        got = compiled(w_buf, x, y)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[2], want[2], rtol=1e-5)
        np.testing.assert_allclose(w_buf, want[1], rtol=1e-5, atol=1e-6)   # updated in place
        w = w_buf.copy()
        want = interpret(g, [w, x, y])


def test_batched_matmul_with_partially_broadcast_batch_dims():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((3, 5, 6)).astype(np.float32)
    c = rng.standard_normal((2, 1, 4, 5)).astype(np.float32)
    g, em, (x, y, z) = graph_with_params((a.shape, dt.float32), (b.shape, dt.float32), (c.shape, dt.float32))
    out1 = em.matmul(x, y, transpose_a=False, transpose_b=False)
    out2 = em.matmul(z, y, transpose_a=False, transpose_b=False)
    compile_and_compare(g, [out1, out2], [a, b, c], rtol=1e-4)


def test_row_kernels_layernorm_and_logsumexp():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 3, 33)).astype(np.float32) * 3
    g, em, (p,) = graph_with_params((x.shape, dt.float32))
    mean = em.reduce_mean(p, axes=(2,), keepdims=True)
    centered = em.sub(p, mean)
    var = em.reduce_mean(em.square(centered), axes=(2,), keepdims=True)
    normed = em.mul(centered, em.rsqrt(em.add(var, em.scalar_like(1e-5, var))))
    m = em.reduce_max(p, axes=(1, 2), keepdims=True)
    lse = em.add(em.log(em.reduce_sum(em.exp(em.sub(p, m)), axes=(1, 2), keepdims=True)), m)
    compiled, _ = compile_and_compare(g, [normed, var, em.sub(p, lse)], [x], rtol=1e-4, atol=1e-5)
    assert compiled.num_kernels == 2


def test_reduction_epilogue_through_reshape():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 4, 5)).astype(np.float32)
    g, em, (p,) = graph_with_params((x.shape, dt.float32))
    s = em.reshape(em.reduce_sum(p, axes=(2,), keepdims=False), shape=(3, 8))
    m = em.reshape(em.reduce_mean(p, axes=(0,), keepdims=True), shape=(20,))
    compile_and_compare(g, [em.tanh(s), em.exp(m)], [x], rtol=1e-4)


def test_separate_batch_symbols_are_checked_equal_at_run_time():
    from fuseflow.compiler.driver import compile_graph
    from fuseflow.compiler.shapes import SymDim
    b0, b1 = SymDim.symbol("b0"), SymDim.symbol("b1")
    g, em, (x, y) = graph_with_params(((b0, 3), dt.float32), ((b1, 3), dt.float32))
    g.graph["outputs"] = [em.add(x, y)]
    compiled = compile_graph(g)
    ok = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(compiled(ok, ok)[0], ok * 2)
    with pytest.raises(ValueError, match="must equal"):
        compiled(ok, np.ones((2, 3), np.float32))     # would read y out of bounds if unchecked


def test_concat_of_separate_batch_symbols_is_checked():
    from fuseflow.compiler.driver import compile_graph
    from fuseflow.compiler.shapes import SymDim
    b0, b1 = SymDim.symbol("b0"), SymDim.symbol("b1")
    g, em, (x, y) = graph_with_params(((b0, 2), dt.float32), ((b1, 3), dt.float32))
    g.graph["outputs"] = [em.concat(x, y, axis=1)]
    compiled = compile_graph(g)
    np.testing.assert_array_equal(compiled(np.ones((4, 2), np.float32), np.zeros((4, 3), np.float32))[0],
                                  np.hstack([np.ones((4, 2)), np.zeros((4, 3))]).astype(np.float32))
    with pytest.raises(ValueError, match="must equal"):
        compiled(np.ones((4, 2), np.float32), np.zeros((2, 3), np.float32))


def test_output_memory_is_reused_only_when_nobody_holds_the_previous_result():
    from fuseflow.compiler.driver import compile_graph
    g, em, (x,) = graph_with_params(((64,), dt.float32))
    g.graph["outputs"] = [em.mul(x, em.scalar_like(2, x))]
    compiled = compile_graph(g)
    a = np.arange(64, dtype=np.float32)
    first = compiled(a)[0]
    kept = first.__array_interface__["data"][0]
    second = compiled(a + 1)[0]                 # `first` is still held: fresh memory
    assert second.__array_interface__["data"][0] != kept
    np.testing.assert_array_equal(first, a * 2)  # untouched by the second call
    view = second[::2]
    del first, second
    third = compiled(a + 2)[0]                  # the view keeps `second` alive: not reused either
    np.testing.assert_array_equal(view, ((a + 1) * 2)[::2])
    del view
    ptr = third.__array_interface__["data"][0]
    del third
    fourth = compiled(a + 3)[0]                 # nothing holds `third`: its memory is reused
    assert fourth.__array_interface__["data"][0] == ptr
    np.testing.assert_array_equal(fourth, (a + 3) * 2)
