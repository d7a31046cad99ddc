"""Compiled movement, indexing and composite ops vs the reference interpreter, fused into
elementwise consumers (so their index maps are exercised inline, not only as copies)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from compile_helpers import compile_and_compare, graph_with_params
from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.ops.shape_ops import canonical_strided_slice

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
F32 = dt.float32


def run(shapes, build, arrays, **tol):
    g, em, params = graph_with_params(*[(s, F32 if a.dtype == np.float32 else dt.from_numpy(a.dtype))
                                        for s, a in zip(shapes, arrays)])
    outs = build(em, *params)
    outs = outs if isinstance(outs, list) else [outs]
    # fuse an elementwise consumer onto float results so the op is lowered inline
    fused = [em.mul(o, em.scalar_like(2, o)) if em.type(o).dtype.is_floating else o for o in outs]
    compile_and_compare(g, fused, arrays, **tol)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_concat_and_split_pieces():
    a, b, c = rand(2, 3), rand(2, 1, seed=1), rand(2, 4, seed=2)
    run([a.shape, b.shape, c.shape], lambda em, x, y, z: em.concat(x, y, z, axis=1), [a, b, c])
    run([a.shape, a.shape], lambda em, x, y: em.concat(x, y, axis=0), [a, a])


def test_concat_with_empty_piece():
    a, e = rand(3, 2), np.zeros((0, 2), np.float32)
    run([a.shape, e.shape], lambda em, x, y: em.concat(y, x, axis=0), [a, e])


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), data=st.data())
def test_slice(shape, data):
    begin = [data.draw(st.integers(0, d - 1)) for d in shape]
    size = [data.draw(st.integers(-1, d - b)) for d, b in zip(shape, begin)]
    size = [s if s != 0 else 1 for s in size]
    x = rand(*shape)
    run([shape], lambda em, p: em.slice(p, begin=tuple(begin), size=tuple(size)), [x])


@pytest.mark.parametrize("key", [
    (slice(None, None, -1),), (slice(1, None, 2), 0), (Ellipsis, slice(None, 1)), (None, 1, slice(None, None, -2)),
    (slice(-1, 0, -1), slice(None)), (2,),
])
def test_strided_slice(key):
    x = rand(4, 5)
    spec = _spec_from_key(x.ndim, key)
    attrs = canonical_strided_slice(x.shape, **spec)
    want = x[key]
    g, em, (p,) = graph_with_params((x.shape, F32))
    out = em.strided_slice(p, **attrs)
    assert em.type(out).shape == want.shape
    compile_and_compare(g, [em.add(out, em.scalar_like(1, out))], [x])


def _spec_from_key(rank, key):
    begin, end, strides = [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    for i, k in enumerate(key):
        if k is Ellipsis:
            masks["ellipsis_mask"] |= 1 << i
            begin.append(0); end.append(0); strides.append(1)
        elif k is None:
            masks["new_axis_mask"] |= 1 << i
            begin.append(0); end.append(0); strides.append(1)
        elif isinstance(k, int):
            masks["shrink_axis_mask"] |= 1 << i
            begin.append(k); end.append(k + 1); strides.append(1)
        else:
            begin.append(k.start or 0); end.append(k.stop or 0); strides.append(k.step or 1)
            if k.start is None:
                masks["begin_mask"] |= 1 << i
            if k.stop is None:
                masks["end_mask"] |= 1 << i
    return dict(begin=begin, end=end, strides=strides, **masks)


@pytest.mark.parametrize("mode", ["constant", "reflect", "symmetric"])
def test_pad_modes(mode):
    x = rand(3, 4)
    run([x.shape], lambda em, p: em.pad(p, paddings=((1, 2), (2, 1)), mode=mode), [x])


def test_tile_and_reverse():
    x = rand(2, 3)
    run([x.shape], lambda em, p: em.tile(p, multiples=(2, 3)), [x])
    run([x.shape], lambda em, p: em.reverse(p, axes=(0, 1)), [x])


def test_gather_and_one_hot():
    params = rand(5, 3)
    idx = np.array([[4, 0], [2, 2]], np.int32)
    run([params.shape, idx.shape], lambda em, p, i: em.gather(p, i, axis=0), [params, idx])
    labels = np.array([0, 3, 1, 7], np.int64)   # 7 is out of range: an all-off row, as TF
    run([labels.shape], lambda em, i: em.one_hot(i, depth=4), [labels])


def test_gather_out_of_range_is_an_error_not_a_crash():
    from fuseflow.compiler.driver import compile_graph
    params = rand(5, 3)
    g, em, (p, i) = graph_with_params((params.shape, F32), ((2,), dt.int32))
    g.graph["outputs"] = [em.gather(p, i, axis=0)]
    compiled = compile_graph(g)
    np.testing.assert_array_equal(compiled(params, np.array([1, 4], np.int32))[0], params[[1, 4]])
    with pytest.raises(Exception, match="gather"):
        compiled(params, np.array([1, 5], np.int32))
    with pytest.raises(Exception, match="gather"):
        compiled(params, np.array([-1, 0], np.int32))


def test_range_source():
    g, em, (p,) = graph_with_params(((5,), F32))
    r = em.emit("range", start=0, limit=5, delta=1, dtype=F32)
    compile_and_compare(g, [em.add(p, r)], [rand(5)])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_family(op):
    x = rand(6, 10) * 4
    run([x.shape], lambda em, p: em.emit(op, p, axis=-1), [x])
    run([x.shape], lambda em, p: em.emit(op, p, axis=0), [x])


def test_logsumexp_and_cross_entropy():
    x = rand(6, 10) * 4
    labels = np.eye(10, dtype=np.float32)[np.arange(6) % 10]
    run([x.shape], lambda em, p: em.reduce_logsumexp(p, axes=(1,), keepdims=False), [x])
    run([labels.shape, x.shape], lambda em, l, p: em.softmax_cross_entropy_with_logits(l, p), [labels, x])
    sparse = np.array([1, 0, 9, 3, 3, 2], np.int32)
    run([sparse.shape, x.shape], lambda em, l, p: em.sparse_softmax_cross_entropy_with_logits(l, p), [sparse, x])


def test_sparse_cross_entropy_rejects_out_of_range_labels():
    from fuseflow.compiler.driver import compile_graph
    x = rand(3, 4)
    g, em, (l, p) = graph_with_params(((3,), dt.int32), (x.shape, F32))
    g.graph["outputs"] = [em.sparse_softmax_cross_entropy_with_logits(l, p)]
    compiled = compile_graph(g)
    compiled(np.array([0, 3, 1], np.int32), x)
    with pytest.raises(Exception, match="outside the valid range"):
        compiled(np.array([0, 4, 1], np.int32), x)
