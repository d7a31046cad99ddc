"""Op references vs direct numpy formulas (TF corner semantics included), type-inference
errors, decompositions vs references, and (a few compiled graphs) lowering hooks vs
references for the movement, indexing, nn, conv and random ops."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.interpreter import interpret
from fuseflow.compiler.ir import Attrs, Graph, TensorType, verify
from fuseflow.compiler.ops import OpError, all_ops, get_op
from fuseflow.compiler.ops.shape_ops import canonical_strided_slice
from fuseflow.compiler.passes.decompose import decompose
from fuseflow.compiler.shapes import SymDim

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
SHAPES = array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)


def run(op, arrays, **attrs):
    """Run an op's reference directly and check it returns exactly the inferred types."""
    arrays = [np.asarray(a) for a in arrays]
    types = [TensorType(a.shape, dt.from_numpy(a.dtype)) for a in arrays]
    frozen = Attrs(attrs)
    opdef = get_op(op)
    inferred = opdef.infer_types(types, frozen)
    outs = opdef.reference(arrays, frozen)
    assert len(outs) == len(inferred), op
    for o, t in zip(outs, inferred):
        assert o.shape == tuple(t.shape), (op, o.shape, t.shape)
        assert o.dtype == t.dtype.np, (op, o.dtype, t.dtype)
    return outs if len(outs) > 1 else outs[0]


def graph_of(arrays):
    g = Graph()
    em = Emitter(g)
    params = []
    for i, a in enumerate(arrays):
        p = em.parameter(index=i, shape=tuple(np.shape(a)), dtype=dt.from_numpy(np.asarray(a).dtype))
        g.graph["inputs"].append(p.node)
        params.append(p)
    return g, em, params


def rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ elementwise corner cases
def test_integer_floordiv_and_mod_follow_numpy_signs_and_zero_divisors():
    a = np.array([7, -7, 7, -7, 5, 0, -3], np.int32)
    b = np.array([2, 2, -2, -2, 0, 0, 0], np.int32)
    np.testing.assert_array_equal(run("floordiv", [a, b]), [3, -4, -4, 3, 0, 0, 0])
    np.testing.assert_array_equal(run("mod", [a, b]), [1, 1, -1, -1, 0, 0, 0])


def test_float_mod_has_the_divisors_sign():
    a = np.array([7.5, -7.5, 7.5, -7.5])
    b = np.array([2.0, 2.0, -2.0, -2.0])
    np.testing.assert_allclose(run("mod", [a, b]), [1.5, 0.5, -0.5, -1.5])


def test_round_is_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6], np.float32)
    np.testing.assert_array_equal(run("round", [x]), [0, 2, 2, -0.0, -2, -2, 2, 3])


# --------------------------------------------------------------------------- shape ops
@SETTINGS
@given(shape=SHAPES, data=st.data())
def test_concat_stack_split(shape, data):
    rng = np.random.default_rng(0)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    pieces = []
    for s in sizes:
        sh = list(shape)
        sh[axis] = s
        pieces.append(rand(rng, sh))
    np.testing.assert_array_equal(run("concat", pieces, axis=axis), np.concatenate(pieces, axis=axis))
    same = [rand(rng, shape) for _ in sizes]
    sax = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(run("stack", same, axis=sax), np.stack(same, axis=sax))
    whole = np.concatenate(pieces, axis=axis)
    parts = run("split", [whole], axis=axis, sizes=tuple(sizes))
    parts = parts if isinstance(parts, list) else [parts]
    for p, e in zip(parts, pieces):
        np.testing.assert_array_equal(p, e)
    n = shape[axis]
    if n:
        unstacked = run("unstack", [same[0]], axis=axis)
        unstacked = unstacked if isinstance(unstacked, list) else [unstacked]
        for k, u in enumerate(unstacked):
            np.testing.assert_array_equal(u, np.take(same[0], k, axis=axis))


def test_split_with_minus_one_and_num():
    x = np.arange(12.0).reshape(2, 6)
    a, b, c = run("split", [x], axis=1, sizes=(1, -1, 2))
    np.testing.assert_array_equal(b, x[:, 1:4])
    parts = run("split", [x], axis=1, num=3)
    for p, e in zip(parts, np.split(x, 3, axis=1)):
        np.testing.assert_array_equal(p, e)
    with pytest.raises(OpError, match=r"split: .*not divisible"):
        get_op("split").infer_types([TensorType((2, 6), dt.float32)], Attrs(axis=1, num=4))


def test_expand_dims_and_squeeze():
    x = np.arange(6.0).reshape(1, 2, 1, 3)
    np.testing.assert_array_equal(run("expand_dims", [x], axis=-1), x[..., None])
    np.testing.assert_array_equal(run("squeeze", [x], axis=None), x.reshape(2, 3))
    np.testing.assert_array_equal(run("squeeze", [x], axis=(2,)), x.reshape(1, 2, 3))
    with pytest.raises(OpError, match=r"squeeze: cannot squeeze axis 1 of float32\[1,2,1,3\]"):
        get_op("squeeze").infer_types([TensorType((1, 2, 1, 3), dt.float32)], Attrs(axis=(1,)))


@SETTINGS
@given(shape=SHAPES, data=st.data())
def test_slice(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    begin = [data.draw(st.integers(0, d)) for d in shape]
    size = [data.draw(st.sampled_from([-1, d - b]) if d - b else st.just(0)) if data.draw(st.booleans())
            else data.draw(st.integers(0, d - b)) for d, b in zip(shape, begin)]
    expect = x[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]
    np.testing.assert_array_equal(run("slice", [x], begin=tuple(begin), size=tuple(size)), expect)


def tf_spec(index):
    """A numpy index tuple -> TF StridedSlice arguments (what the frontend's __getitem__ does)."""
    begin, end, strides = [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    for i, item in enumerate(index):
        if item is Ellipsis:
            masks["ellipsis_mask"] |= 1 << i
            begin.append(0), end.append(0), strides.append(1)
        elif item is None:
            masks["new_axis_mask"] |= 1 << i
            begin.append(0), end.append(0), strides.append(1)
        elif isinstance(item, int):
            masks["shrink_axis_mask"] |= 1 << i
            begin.append(item), end.append(item + 1), strides.append(1)
        else:
            if item.start is None:
                masks["begin_mask"] |= 1 << i
            if item.stop is None:
                masks["end_mask"] |= 1 << i
            begin.append(item.start or 0), end.append(item.stop or 0), strides.append(item.step or 1)
    return begin, end, strides, masks


@st.composite
def index_specs(draw, shape):
    n_consume = draw(st.integers(0, len(shape)))
    ellipsis = draw(st.booleans())
    items = []
    for k in range(n_consume):
        d = shape[k] if not ellipsis else None
        if d and draw(st.integers(0, 3)) == 0:
            items.append(draw(st.integers(-d, d - 1)))
        else:
            bound = st.one_of(st.none(), st.integers(-6, 6))
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3, -1, -2, -3]))))
    if ellipsis:
        # integer indices after an ellipsis index the trailing axes: keep them in range.
        items = [it if not isinstance(it, int) else slice(None) for it in items]
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5), data=st.data())
def test_strided_slice_matches_numpy_indexing(shape, data):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    index = data.draw(index_specs(shape))
    begin, end, strides, masks = tf_spec(index)
    attrs = canonical_strided_slice(shape, begin, end, strides, **masks)
    np.testing.assert_array_equal(run("strided_slice", [x], **attrs), x[index])
    # its gradient op scatters back into zeros of the input shape
    g = np.ones(x[index].shape, np.float32)
    expect = np.zeros_like(x)
    expect[index] = 1
    np.testing.assert_array_equal(run("strided_slice_grad", [g], shape=shape, **attrs), expect)


def test_strided_slice_corner_cases():
    x = np.arange(24.0).reshape(2, 3, 4)
    for index in [(Ellipsis, -1), (None, 1, Ellipsis, None), (slice(None, None, -1), 0, slice(3, 0, -2)),
                  (slice(-1, -3, -1),), (1, 2, 3), (Ellipsis,)]:
        attrs = canonical_strided_slice(x.shape, *tf_spec(index)[:3], **tf_spec(index)[3])
        np.testing.assert_array_equal(run("strided_slice", [x], **attrs), x[index], err_msg=str(index))
    with pytest.raises(OpError, match=r"strided_slice: index 5 is out of bounds for axis 0 of float32\[3\]"):
        get_op("strided_slice").infer_types([TensorType((3,), dt.float32)],
                                            Attrs(canonical_strided_slice((3,), [5], [6], [1], shrink_axis_mask=1)))


@pytest.mark.parametrize("index", [(slice(1, None),), (slice(None, -1),), (slice(None, None, -1),),
                                   (slice(-2, None),), (slice(None, None, 2),), (-1,), (slice(1, None, 3),),
                                   (slice(-1, None, -2),), (Ellipsis, None)])
def test_strided_slice_symbolic_sizes_agree_with_numpy(index):
    n = SymDim.symbol("n")
    attrs = canonical_strided_slice((None,), *tf_spec(index)[:3], **tf_spec(index)[3])
    (t,) = get_op("strided_slice").infer_types([TensorType((n,), dt.float32)], Attrs(attrs))
    for size in range(2, 8):
        want = np.zeros(size)[index].shape
        got = tuple(d.evaluate({"n": size}) if isinstance(d, SymDim) else d for d in t.shape)
        assert got == want, (index, size)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       mode=st.sampled_from(["CONSTANT", "REFLECT", "SYMMETRIC"]))
def test_pad_modes(shape, data, mode):
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + 1
    limit = {"CONSTANT": 3, "REFLECT": None, "SYMMETRIC": None}[mode]
    pads = []
    for d in shape:
        hi = limit if limit is not None else (d - 1 if mode == "REFLECT" else d)
        pads.append((data.draw(st.integers(0, hi)), data.draw(st.integers(0, hi))))
    if mode == "CONSTANT":
        expect = np.pad(x, pads, constant_values=-2.5)
        got = run("pad", [x], paddings=tuple(pads), mode=mode, constant_value=-2.5)
    else:
        expect = np.pad(x, pads, mode=mode.lower())
        got = run("pad", [x], paddings=tuple(pads), mode=mode)
    np.testing.assert_array_equal(got, expect)


def test_pad_reflect_limits_name_the_op():
    with pytest.raises(OpError, match=r"pad: REFLECT paddings must be at most 2 on axis 0 of float32\[3\]"):
        get_op("pad").infer_types([TensorType((3,), dt.float32)], Attrs(paddings=((3, 0),), mode="REFLECT"))


@SETTINGS
@given(shape=SHAPES, data=st.data())
def test_tile_and_reverse(shape, data):
    x = rand(np.random.default_rng(1), shape)
    mult = tuple(data.draw(st.integers(0, 3)) for _ in shape)
    np.testing.assert_array_equal(run("tile", [x], multiples=mult), np.tile(x, mult))
    axes = tuple(data.draw(st.sets(st.integers(0, len(shape) - 1))))
    np.testing.assert_array_equal(run("reverse", [x], axes=axes), np.flip(x, axes))


# ----------------------------------------------------------------------------- indexing
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_gather(shape, data):
    rng = np.random.default_rng(2)
    x = rand(rng, shape)
    axis = data.draw(st.integers(0, len(shape) - 1))
    bd = data.draw(st.integers(0, axis))
    ind_shape = tuple(shape[:bd]) + tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    ind = rng.integers(0, shape[axis], ind_shape).astype(data.draw(st.sampled_from([np.int32, np.int64])))
    got = run("gather", [x, ind], axis=axis, batch_dims=bd)
    out = np.zeros(got.shape)
    for pos in np.ndindex(*got.shape):
        pre, rest = pos[:axis], pos[axis:]
        ri = len(ind_shape) - bd
        k = ind[pre[:bd] + rest[:ri]]
        out[pos] = x[pre + (k,) + rest[ri:]]
    np.testing.assert_array_equal(got, out)


def test_gather_out_of_range_raises_like_tf():
    with pytest.raises(ValueError, match=r"gather: indices\[1\] = 3 is not in \[0, 3\)"):
        run("gather", [np.zeros(3), np.array([0, 3])], axis=0)
    with pytest.raises(ValueError, match=r"gather: .* = -1 "):
        run("gather", [np.zeros(3), np.array([-1])], axis=0)


def test_gather_nd_scatter_nd_and_segment_sum():
    x = np.arange(24.0).reshape(2, 3, 4)
    ind = np.array([[[1, 2], [0, 0]], [[1, 0], [1, 2]]], np.int32)
    got = run("gather_nd", [x, ind])
    np.testing.assert_array_equal(got, np.array([[x[1, 2], x[0, 0]], [x[1, 0], x[1, 2]]]))
    upd = np.ones((2, 2, 4))
    sc = run("scatter_nd", [ind, upd], shape=(2, 3, 4))
    expect = np.zeros((2, 3, 4))
    for i in ind.reshape(-1, 2):
        expect[tuple(i)] += 1
    np.testing.assert_array_equal(sc, expect)
    data = np.arange(12.0).reshape(4, 3)
    ids = np.array([2, -1, 0, 2])
    seg = run("unsorted_segment_sum", [data, ids], num_segments=4)
    np.testing.assert_array_equal(seg, [data[2], np.zeros(3), data[0] + data[3], np.zeros(3)])
    with pytest.raises(ValueError, match="unsorted_segment_sum: segment_ids"):
        run("unsorted_segment_sum", [data, np.array([0, 0, 0, 4])], num_segments=4)


@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4), depth=st.integers(0, 4), data=st.data())
def test_one_hot_off_range_indices_give_off_value(shape, depth, data):
    ind = np.random.default_rng(3).integers(-2, depth + 2, shape).astype(np.int64)
    axis = data.draw(st.integers(-1, len(shape)))
    got = run("one_hot", [ind], depth=depth, on_value=5.0, off_value=-1.0, axis=axis, dtype=dt.float32)
    base = np.where(ind[..., None] == np.arange(depth), 5.0, -1.0).astype(np.float32)
    np.testing.assert_array_equal(got, np.moveaxis(base, -1, axis if axis != -1 else len(shape)))


@pytest.mark.parametrize("start,limit,delta,dtype", [(0, 10, 3, None), (5, -3, -2, dt.int64), (0.5, 2.0, 0.25, None),
                                                     (3, 3, 1, None), (1.0, 0.0, -0.3, dt.float64)])
def test_range(start, limit, delta, dtype):
    got = run("range", [], start=start, limit=limit, delta=delta, dtype=dtype)
    np.testing.assert_allclose(got, np.arange(start, limit, delta), rtol=1e-6)
    assert got.dtype == (dtype.np if dtype else (np.int32 if isinstance(start, int) else np.float32))


def test_range_errors_name_the_op():
    with pytest.raises(OpError, match=r"range: requires start <= limit when delta > 0: 5/3"):
        get_op("range").infer_types([], Attrs(start=5, limit=3, delta=1))
    with pytest.raises(OpError, match="range: delta must not be 0"):
        get_op("range").infer_types([], Attrs(start=0, limit=3, delta=0))


# --------------------------------------------------------------------------- composites
def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


COMPOSITE_CASES = {
    "softmax": (lambda r: [rand(r, (3, 4))], dict(axis=0), lambda x: _np_softmax(x, 0)),
    "log_softmax": (lambda r: [rand(r, (3, 4)) * 30], dict(axis=-1), lambda x: np.log(_np_softmax(x, -1))),
    "reduce_logsumexp": (lambda r: [rand(r, (2, 3, 4)) * 50], dict(axes=(0, 2), keepdims=False),
                         lambda x: np.log(np.sum(np.exp(x - x.max()), axis=(0, 2))) + x.max()),
    "softmax_cross_entropy_with_logits": (lambda r: [np.abs(rand(r, (3, 5))), rand(r, (3, 5))], {},
                                          lambda l, x: -np.sum(l * np.log(_np_softmax(x, -1)), -1)),
    "sparse_softmax_cross_entropy_with_logits": (
        lambda r: [np.array([0, 4, 2]), rand(r, (3, 5))], {},
        lambda l, x: -np.log(_np_softmax(x, -1))[np.arange(3), l]),
    "sigmoid_cross_entropy_with_logits": (
        lambda r: [r.random((3, 4)), rand(r, (3, 4)) * 10], {},
        lambda z, x: z * np.logaddexp(0, -x) + (1 - z) * np.logaddexp(0, x)),
    "l2_loss": (lambda r: [rand(r, (3, 4))], {}, lambda x: np.sum(x ** 2) / 2),
    "bias_add": (lambda r: [rand(r, (2, 3, 4)), rand(r, (4,))], {}, lambda x, b: x + b),
    "clip_by_value": (lambda r: [rand(r, (3, 4)), np.array(-0.5), np.array(0.5)], {},
                      lambda x, lo, hi: np.clip(x, lo, hi)),
    "l2_normalize": (lambda r: [rand(r, (3, 4))], dict(axis=1),
                     lambda x: x / np.sqrt(np.sum(x ** 2, axis=1, keepdims=True))),
    "add_n": (lambda r: [rand(r, (2, 3)), rand(r, (2, 3)), rand(r, (2, 3))], {}, lambda a, b, c: a + b + c),
}


@pytest.mark.parametrize("op", sorted(COMPOSITE_CASES))
def test_composite_reference_and_decomposition(op):
    make, attrs, formula = COMPOSITE_CASES[op]
    arrays = make(np.random.default_rng(4))
    got = run(op, arrays, **attrs)
    np.testing.assert_allclose(got, formula(*arrays), rtol=1e-10, atol=1e-12)
    g, em, params = graph_of(arrays)
    g.graph["outputs"] = [em.emit(op, *params, **attrs)]
    g = decompose(g)
    verify(g)
    assert all(get_op(g.op(n)).kind != "composite" for n in g.nodes)
    np.testing.assert_allclose(interpret(g, arrays)[0], got, rtol=1e-10, atol=1e-12)


def test_bias_add_nchw_and_moments():
    x, b = rand(np.random.default_rng(5), (2, 3, 4, 5)), np.arange(3.0)
    np.testing.assert_array_equal(run("bias_add", [x, b], data_format="NCHW"), x + b[:, None, None])
    mean, var = run("moments", [x], axes=(0, 2, 3))
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)))


def test_reduce_logsumexp_of_infinite_max_follows_tf():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0]])
    np.testing.assert_array_equal(run("reduce_logsumexp", [x], axes=(1,)), [-np.inf, np.inf])


# -------------------------------------------------------------------------------- conv
def naive_conv(x, w, strides, padding, dilations=(1, 1), depthwise=False):
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    eh, ew = (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1
    if padding == "SAME":
        oh, ow = -(-h // strides[0]), -(-wd // strides[1])
        pt = max((oh - 1) * strides[0] + eh - h, 0) // 2
        pl = max((ow - 1) * strides[1] + ew - wd, 0) // 2
    else:
        oh, ow, pt, pl = (h - eh) // strides[0] + 1, (wd - ew) // strides[1] + 1, 0, 0
    oc = c * w.shape[3] if depthwise else w.shape[3]
    y = np.zeros((n, oh, ow, oc))
    for b, i, j, a, e in np.ndindex(n, oh, ow, kh, kw):
        r, s = i * strides[0] + a * dilations[0] - pt, j * strides[1] + e * dilations[1] - pl
        if 0 <= r < h and 0 <= s < wd:
            y[b, i, j] += (x[b, r, s][:, None] * w[a, e]).reshape(-1) if depthwise else x[b, r, s] @ w[a, e]
    return y


CONV_CASES = st.tuples(st.integers(1, 2), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3),
                       st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.sampled_from(["SAME", "VALID"]),
                       st.tuples(st.integers(1, 3), st.integers(1, 3)), st.tuples(st.integers(1, 2), st.integers(1, 2)))


def _conv_case_ok(h, w, kh, kw, padding, dil):
    return padding == "SAME" or (h >= (kh - 1) * dil[0] + 1 and w >= (kw - 1) * dil[1] + 1)


@SETTINGS
@given(case=CONV_CASES, depthwise=st.booleans())
def test_conv2d_family_matches_direct_loops_and_is_adjoint(case, depthwise):
    n, h, w, c, o, kh, kw, padding, strides, dil = case
    if not _conv_case_ok(h, w, kh, kw, padding, dil):
        return
    rng = np.random.default_rng(6)
    x, f = rand(rng, (n, h, w, c)), rand(rng, (kh, kw, c, o))
    attrs = dict(strides=strides, padding=padding, dilations=dil)
    prefix = "depthwise_conv2d" if depthwise else "conv2d"
    y = run(prefix, [x, f], **attrs)
    np.testing.assert_allclose(y, naive_conv(x, f, strides, padding, dil, depthwise), rtol=1e-10, atol=1e-10)
    dy = rand(rng, y.shape)
    dx = run(f"{prefix}_backprop_input", [f, dy], input_sizes=x.shape, **attrs)
    df = run(f"{prefix}_backprop_filter", [x, dy], filter_sizes=f.shape, **attrs)
    inner = np.sum(y * dy)
    np.testing.assert_allclose(np.sum(x * dx), inner, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.sum(f * df), inner, rtol=1e-9, atol=1e-9)


def test_conv2d_type_errors_name_op_and_shapes():
    with pytest.raises(OpError, match=r"conv2d: input depth 3 does not match the filter's input depth 4"):
        get_op("conv2d").infer_types([TensorType((1, 5, 5, 3), dt.float32), TensorType((2, 2, 4, 8), dt.float32)],
                                     Attrs(strides=(1, 1), padding="SAME"))
    with pytest.raises(OpError, match=r"conv2d: computed output size would be negative"):
        get_op("conv2d").infer_types([TensorType((1, 2, 5, 3), dt.float32), TensorType((3, 2, 3, 8), dt.float32)],
                                     Attrs(strides=(1, 1), padding="VALID"))
    with pytest.raises(OpError, match=r"conv2d: only data_format NHWC"):
        get_op("conv2d").infer_types([TensorType((1, 5, 5, 3), dt.float32), TensorType((2, 2, 3, 8), dt.float32)],
                                     Attrs(strides=(1, 1), padding="SAME", data_format="NCHW"))


# --------------------------------------------------------------------------------- pools
def naive_pool(x, k, s, padding, kind):
    n, h, w, c = x.shape
    if padding == "SAME":
        oh, ow = -(-h // s[0]), -(-w // s[1])
        pt, pl = max((oh - 1) * s[0] + k[0] - h, 0) // 2, max((ow - 1) * s[1] + k[1] - w, 0) // 2
    else:
        oh, ow, pt, pl = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1, 0, 0
    y, dx = np.zeros((n, oh, ow, c)), np.zeros(x.shape)
    for b, i, j, ch in np.ndindex(n, oh, ow, c):
        cells = [(x[b, r, q, ch], r, q) for r in range(i * s[0] - pt, i * s[0] - pt + k[0])
                 for q in range(j * s[1] - pl, j * s[1] - pl + k[1]) if 0 <= r < h and 0 <= q < w]
        if kind == "max":
            best = cells[0]
            for cell in cells[1:]:
                best = cell if cell[0] > best[0] else best
            y[b, i, j, ch] = best[0]
            dx[b, best[1], best[2], ch] += 1
        else:
            y[b, i, j, ch] = sum(v for v, _, _ in cells) / len(cells)   # TF SAME: valid count only
            for _, r, q in cells:
                dx[b, r, q, ch] += 1 / len(cells)
    return y, dx


@SETTINGS
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 6), st.integers(1, 6), st.integers(1, 2)),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)), s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       padding=st.sampled_from(["SAME", "VALID"]), kind=st.sampled_from(["max", "avg"]))
def test_pools_and_their_gradients(shape, k, s, padding, kind):
    if padding == "VALID" and (shape[1] < k[0] or shape[2] < k[1]):
        return
    x = np.random.default_rng(7).integers(0, 3, shape).astype(np.float64)   # many ties
    attrs = dict(ksize=k, strides=s, padding=padding)
    y_ref, dx_ref = naive_pool(x, k, s, padding, kind)
    y = run(f"{kind}_pool", [x], **attrs)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12)
    ones = np.ones(y.shape)
    if kind == "max":
        dx = run("max_pool_grad", [x, ones], **attrs)
        np.testing.assert_array_equal(dx, dx_ref)   # ties route to the first maximum
        np.testing.assert_array_equal(run("max_pool_grad_grad", [x, x], **attrs), y_ref)
    else:
        np.testing.assert_allclose(run("avg_pool_grad", [ones], orig_input_shape=x.shape, **attrs), dx_ref)


# -------------------------------------------------------------------------------- random
@pytest.mark.parametrize("op,attrs", [("random_uniform", dict(dtype=dt.float32)),
                                      ("random_uniform", dict(dtype=dt.float64, minval=-2.0, maxval=3.0)),
                                      ("random_uniform", dict(dtype=dt.int32, minval=-5, maxval=7)),
                                      ("random_normal", dict(dtype=dt.float32, mean=1.0, stddev=2.0)),
                                      ("truncated_normal", dict(dtype=dt.float64, stddev=3.0))])
def test_random_ops_are_deterministic_per_counter_and_have_the_right_law(op, attrs):
    a = run(op, [np.int64(5)], shape=(20000,), seed=1, seed2=2, **attrs)
    np.testing.assert_array_equal(a, run(op, [np.int64(5)], shape=(20000,), seed=1, seed2=2, **attrs))
    assert np.mean(a == run(op, [np.int64(6)], shape=(20000,), seed=1, seed2=2, **attrs)) < 0.2
    assert np.mean(a == run(op, [np.int64(5)], shape=(20000,), seed=9, seed2=2, **attrs)) < 0.2
    if op == "random_uniform":
        lo, hi = attrs.get("minval", 0.0), attrs.get("maxval", 1.0)
        assert a.min() >= lo and a.max() < hi
        assert abs(a.mean() - (lo + hi - (1 if attrs["dtype"].is_integer else 0)) / 2) < 0.05 * (hi - lo)
    elif op == "random_normal":
        assert abs(a.mean() - 1.0) < 0.05 and abs(a.std() - 2.0) < 0.05
    else:
        assert np.abs(a).max() <= 6.0 and abs(a.std() - 3.0 * 0.8796) < 0.05


def test_random_ops_are_stateful_and_not_differentiable():
    for op in ("random_uniform", "random_normal", "truncated_normal"):
        assert get_op(op).stateful and not get_op(op).differentiable


# ---------------------------------------------------------------------- type-rule errors
@pytest.mark.parametrize("op,types,attrs,pattern", [
    ("concat", [((2, 3), dt.float32), ((3, 3), dt.float32)], dict(axis=1),
     r"concat: dimension 0 differs \(3 vs 2\).*float32\[2,3\], float32\[3,3\]"),
    ("concat", [((2, 3), dt.float32), ((2, 3), dt.int32)], dict(axis=0), r"concat: operands must have the same dtype"),
    ("gather", [((4, 3), dt.float32), ((2,), dt.float32)], dict(axis=0),
     r"gather: indices must be an integer tensor, got float32\[2\]"),
    ("slice", [((4, 3), dt.float32)], dict(begin=(1, 0), size=(4, 1)),
     r"slice: begin \[1, 0\] and size \[4, 1\] are out of range for float32\[4,3\]"),
    ("pad", [((4,), dt.float32)], dict(paddings=((-1, 0),)), r"pad: paddings must be non-negative"),
    ("tile", [((4,), dt.float32)], dict(multiples=(1, 2)), r"tile: multiples \[1, 2\] must be one non-negative int"),
    ("one_hot", [((4,), dt.float32)], dict(depth=3), r"one_hot: indices must be an integer tensor"),
    ("softmax_cross_entropy_with_logits", [((2, 3), dt.float32), ((2, 4), dt.float32)], {},
     r"softmax_cross_entropy_with_logits: shapes must be equal, got float32\[2,3\] and float32\[2,4\]"),
    ("bias_add", [((2, 3), dt.float32), ((4,), dt.float32)], {}, r"bias_add: bias must be 1-D of size 3"),
    ("max_pool", [((2, 3, 3), dt.float32)], dict(ksize=2, strides=2, padding="SAME"),
     r"max_pool: input must be 4-D \(NHWC\), got float32\[2,3,3\]"),
    ("random_normal", [((), dt.int64)], dict(shape=(2,), dtype=dt.int32), r"random_normal: dtype must be floating"),
    ("add", [((2, 3), dt.float32), ((4,), dt.float32)], {}, r"add: shapes \[2,3\], \[4\] are not broadcast-compatible"),
])
def test_type_errors_name_the_op_and_shapes(op, types, attrs, pattern):
    with pytest.raises(OpError, match=pattern):
        get_op(op).infer_types([TensorType(s, d) for s, d in types], Attrs(attrs))


def test_every_op_has_the_lowering_hook_of_its_kind():
    for name, opdef in all_ops().items():
        if opdef.kind == "injective":
            assert opdef.index is not None, name
        elif opdef.kind == "opaque":
            assert opdef.lower_kernel is not None, name
        elif opdef.kind == "composite":
            assert opdef.decompose is not None, name


# ------------------------------------------------------- lowering hooks vs references (native)
def _compiled(g, outputs, arrays):
    from fuseflow.compiler.driver import compile_graph
    g.graph["outputs"] = list(outputs)
    expected = interpret(g, arrays)
    got = compile_graph(g, verify_each=True)(*arrays)
    for e, o in zip(expected, got):
        assert o.shape == e.shape and o.dtype == e.dtype
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-6)


def test_compiled_movement_and_indexing_ops_match_references():
    rng = np.random.default_rng(8)
    x, i = rand(rng, (4, 5), np.float32), np.array([4, 0, 2], np.int32)
    g, em, (px, pi) = graph_of([x, i])
    ss = canonical_strided_slice((4, 5), [3, 0], [0, 5], [-2, 2])
    outs = [em.strided_slice(x if False else px, **ss),
            em.strided_slice_grad(em.strided_slice(px, **ss), shape=(4, 5), **ss),
            em.pad(px, paddings=((1, 2), (2, 1)), mode="REFLECT"),
            em.pad(px, paddings=((1, 2), (0, 1)), mode="SYMMETRIC"),
            em.pad(px, paddings=((1, 2), (0, 1)), constant_value=7.0),
            em.concat(px, em.exp(px), px, axis=1), em.tile(px, multiples=(2, 3)), em.reverse(px, axes=(0, 1)),
            em.gather(px, pi, axis=1), em.one_hot(pi, depth=4, axis=0), em.range(start=1, limit=10, delta=3),
            em.slice(px, begin=(1, 2), size=(2, -1)),
            em.unsorted_segment_sum(px, em.constant(np.array([0, 2, -1, 2], np.int32)), num_segments=3),
            em.scatter_nd(em.constant(np.array([[0, 1], [3, 4], [0, 1]], np.int32)),
                          em.constant(np.ones(3, np.float32)), shape=(4, 5)),
            em.gather_nd(px, em.constant(np.array([[0, 1], [3, 4]], np.int32)))]
    _compiled(g, outs, [x, i])


def test_compiled_gather_reports_out_of_range_index():
    from fuseflow.compiler.driver import compile_graph
    g, em, (px, pi) = graph_of([np.zeros((4, 5), np.float32), np.zeros(3, np.int32)])
    g.graph["outputs"] = [em.gather(px, pi, axis=1)]
    fn = compile_graph(g)
    with pytest.raises(Exception, match=r"gather index out of range \[0, 5\)"):
        fn(np.zeros((4, 5), np.float32), np.array([1, 5, 0], np.int32))


@pytest.mark.parametrize("padding,strides", [("SAME", (2, 1)), ("VALID", (1, 2))])
def test_compiled_conv_and_pool_kernels_match_references(padding, strides):
    rng = np.random.default_rng(9)
    x, f = rand(rng, (2, 5, 6, 3)), rand(rng, (3, 2, 3, 4))
    g, em, (px, pf) = graph_of([x, f])
    attrs = dict(strides=strides, padding=padding)
    y = em.conv2d(px, pf, **attrs)
    dy = em.constant(rand(rng, g.value_type(y).shape))
    pool = dict(ksize=(2, 3), **attrs)
    mp = em.max_pool(px, **pool)
    outs = [y, em.conv2d_backprop_input(pf, dy, input_sizes=x.shape, **attrs),
            em.conv2d_backprop_filter(px, dy, filter_sizes=f.shape, **attrs),
            em.depthwise_conv2d(px, em.constant(rand(rng, (3, 2, 3, 2))), **attrs),
            mp, em.avg_pool(px, **pool), em.max_pool_grad(px, em.exp(mp), **pool),
            em.avg_pool_grad(em.avg_pool(px, **pool), orig_input_shape=x.shape, **pool)]
    _compiled(g, outs, [x, f])


def test_compiled_random_bits_equal_the_reference():
    g, em, (c,) = graph_of([np.int64(0)])
    outs = [em.random_uniform(c, shape=(257,), dtype=dt.float32, seed=3),
            em.random_uniform(c, shape=(257,), dtype=dt.int64, seed=3, minval=-10, maxval=1000),
            em.random_normal(c, shape=(7, 9), dtype=dt.float64, seed=3),
            em.truncated_normal(c, shape=(7, 9), dtype=dt.float32, seed=3)]
    from fuseflow.compiler.driver import compile_graph
    g.graph["outputs"] = outs
    ref = interpret(g, [np.int64(-3)])
    got = compile_graph(g)(np.int64(-3))
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[3], ref[3], rtol=1e-5, atol=1e-5)


def test_compiled_symbolic_batch_and_height_with_gradients():
    """conv/pool SAME padding, strided slice, reflect pad, gather and a cross-entropy gradient on
    symbolic dims: one program, two input sizes."""
    from fuseflow.compiler.driver import compile_graph
    from fuseflow.compiler.passes.autodiff import gradients
    b, h = SymDim.symbol("b"), SymDim.symbol("h")
    g = Graph()
    em = Emitter(g)
    x = em.parameter(index=0, shape=(b, h, 6, 2), dtype=dt.float32)
    w = em.parameter(index=1, shape=(3, 3, 2, 4), dtype=dt.float32)
    lab = em.parameter(index=2, shape=(b,), dtype=dt.int32)
    g.graph["inputs"] += [x.node, w.node, lab.node]
    y = em.relu(em.conv2d(x, w, strides=(2, 2), padding="SAME"))
    f = em.reduce_mean(em.max_pool(y, ksize=(2, 2), strides=(2, 2), padding="SAME"), axes=(1, 2), keepdims=False)
    s = em.strided_slice(f, **canonical_strided_slice((None, 4), [1, 0], [0, 0], [1, -1], end_mask=3))
    cat = em.concat(f, em.pad(f, paddings=((0, 0), (1, 1)), mode="REFLECT"), axis=1)
    loss = em.reduce_mean(em.sparse_softmax_cross_entropy_with_logits(lab, cat), axes=(0,), keepdims=False)
    gw, gx = gradients(g, [loss], [w, x])
    g.graph["outputs"] = [loss, gw, gx, s, em.gather(cat, lab, axis=1, batch_dims=1), em.tile(f, multiples=(2, 1))]
    fn = compile_graph(g, verify_each=True)
    rng = np.random.default_rng(10)
    for batch, height in ((3, 7), (1, 4)):
        args = [rand(rng, (batch, height, 6, 2), np.float32), rand(rng, (3, 3, 2, 4), np.float32),
                rng.integers(0, 10, batch).astype(np.int32)]
        for r, o in zip(interpret(g, args), fn(*args)):
            assert r.shape == o.shape
            np.testing.assert_allclose(o, r, rtol=2e-4, atol=1e-5)
