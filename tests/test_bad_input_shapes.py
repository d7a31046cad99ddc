"""Bad input shapes reaching compiled programs through symbolic dims (None batch dims of a
tf.function signature, compat.v1 placeholders): each must be a clear error naming the op and
the user's line, never a wrong answer or an out-of-bounds access. Shapes a symbolic program
cannot take are retried with a program for exactly those shapes, so the errors are those of
the concrete shapes (and what TF allows, like a Python slice past the end, just works)."""
import numpy as np
import pytest

import fuseflow as tf
import fuseflow.compat.v1 as v1

F32 = tf.float32


def _v2(fn, specs, *args):
    return tf.function(fn, input_signature=specs)(*args)


def _v1(build, placeholders, *args):
    g = v1.Graph()
    with g.as_default():
        phs = [v1.placeholder(dt, shape=sh) for sh, dt in placeholders]
        out = build(*phs)
        with v1.Session() as s:
            return s.run(out, feed_dict=dict(zip(phs, args)))


X3 = np.arange(3, dtype=np.float32)


def test_split_sizes_must_sum_to_a_symbolic_axis():
    # split [1, 1] of 3 values returned the first two and dropped the third
    with pytest.raises(Exception, match=r"split: sizes \[1, 1\] sum to 2.*size 3.*test_bad_input_shapes.py:\d+"):
        _v2(lambda x: tf.split(x, [1, 1]), [tf.TensorSpec([None], F32)], X3)
    with pytest.raises(v1.errors.InvalidArgumentError, match=r"split: sizes \[1, 1\] sum to 2"):
        _v1(lambda x: tf.split(x, [1, 1]), [([None], F32)], X3)
    with pytest.raises(Exception, match="split"):
        _v2(lambda x: tf.split(x, [1, 1], axis=1), [tf.TensorSpec([None, None], F32)], np.ones((2, 3), np.float32))


def test_split_sizes_that_fit_still_work():
    parts = _v2(lambda x: tf.split(x, [1, 2]), [tf.TensorSpec([None], F32)], X3)
    np.testing.assert_array_equal(parts[0].numpy(), X3[:1])
    np.testing.assert_array_equal(parts[1].numpy(), X3[1:])


def test_slice_past_a_symbolic_end():
    # tf.slice past the end is an error (TF's too); Python slicing clamps to an empty result, as
    # TF does (the size b-5 was once negative: numpy's "negative dimensions", no op, no line)
    with pytest.raises(Exception, match=r"slice: begin \[5\] and size \[-1\] are out of range.*"
                                        r"test_bad_input_shapes.py:\d+"):
        _v2(lambda x: tf.slice(x, [5], [-1]), [tf.TensorSpec([None], F32)], X3)
    for build in (lambda x: x[5:], lambda x: x[:-4]):
        assert _v2(build, [tf.TensorSpec([None], F32)], X3).numpy().tolist() == []


def test_slices_in_range_of_a_symbolic_axis_still_work():
    f = tf.function(lambda x: (x[1:], x[:-1], tf.slice(x, [1], [-1])), input_signature=[tf.TensorSpec([None], F32)])
    for n in (1, 3, 5):
        x = np.arange(n, dtype=np.float32)
        a, b, c = f(x)
        np.testing.assert_array_equal(a.numpy(), x[1:])
        np.testing.assert_array_equal(b.numpy(), x[:-1])
        np.testing.assert_array_equal(c.numpy(), x[1:])


def test_scatter_nd_updates_must_match_symbolic_indices():
    # 3 updates for 2 index rows were scattered as if they matched
    f = tf.function(lambda i, u: tf.scatter_nd(i, u, [3]),
                    input_signature=[tf.TensorSpec([None, 1], tf.int32), tf.TensorSpec([None], F32)])
    with pytest.raises(Exception, match=r"scatter_nd: updates float32\[3\] must have shape \[2\].*test_bad_input_shapes.py:\d+"):
        f(np.array([[1], [2]], np.int32), np.ones(3, np.float32))
    np.testing.assert_array_equal(f(np.array([[1], [2]], np.int32), np.ones(2, np.float32)).numpy(), [0, 1, 1])


def test_segment_ids_must_match_symbolic_data():
    with pytest.raises(Exception, match=r"unsorted_segment_sum: data float32\[3\] must have segment_ids' shape \[2\]"):
        _v2(lambda d, i: tf.math.unsorted_segment_sum(d, i, 3),
            [tf.TensorSpec([None], F32), tf.TensorSpec([None], tf.int32)], X3, np.array([0, 1], np.int32))


def test_gather_batch_dims_must_agree():
    with pytest.raises(Exception, match=r"gather: batch dimension 0 differs"):
        _v2(lambda p, i: tf.gather(p, i, batch_dims=1, axis=1),
            [tf.TensorSpec([None, None], F32), tf.TensorSpec([None, 1], tf.int32)],
            np.ones((2, 3), np.float32), np.zeros((3, 1), np.int32))


def test_boolean_mask_shape_must_match():
    # np.compress truncated to the shorter mask: [0.] for 3 values and 2 mask entries
    with pytest.raises(ValueError, match=r"boolean_mask: mask shape \[2\].*\[3\]"):
        tf.boolean_mask(X3, [True, False])
    np.testing.assert_array_equal(tf.boolean_mask(X3, [True, False, True]).numpy(), [0, 2])


def test_argmax_over_an_empty_symbolic_axis_is_an_error():
    f = tf.function(lambda x: tf.argmax(x, axis=1), input_signature=[tf.TensorSpec([None, None], F32)])
    with pytest.raises(Exception, match=r"argmax: cannot reduce over the empty axis 1.*test_bad_input_shapes.py:\d+"):
        f(np.zeros((2, 0), np.float32))
    np.testing.assert_array_equal(f(np.eye(3, dtype=np.float32)).numpy(), [0, 1, 2])
    assert f(np.zeros((0, 3), np.float32)).numpy().shape == (0,)


@pytest.mark.parametrize("mode,pad", [("REFLECT", 3), ("SYMMETRIC", 4)])
def test_mirror_pad_longer_than_a_symbolic_axis_is_an_error(mode, pad):
    # the border folded back onto the wrong elements: [1,2,1,0,1,2,1,0,1] for REFLECT 3 of [0,1,2]
    f = tf.function(lambda x: tf.pad(x, [[pad, 0]], mode=mode), input_signature=[tf.TensorSpec([None], F32)])
    with pytest.raises(Exception, match=rf"pad: {mode} paddings must be at most.*test_bad_input_shapes.py:\d+"):
        f(X3)
    x = np.arange(pad + 1, dtype=np.float32)
    np.testing.assert_array_equal(f(x).numpy(), np.pad(x, [[pad, 0]], mode=mode.lower()))


def test_symbolic_conv_filter_size_is_a_clear_error():
    # was "'<' not supported between instances of 'SymDim' and 'SymDim'"
    spec = [tf.TensorSpec([None] * 4, F32), tf.TensorSpec([None] * 4, F32)]
    with pytest.raises(Exception, match="conv2d: the window .* must be known"):
        _v2(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"), spec, np.ones((1, 4, 4, 2), np.float32),
            np.ones((3, 3, 2, 1), np.float32))


def test_conv_depth_must_match_a_symbolic_filter_depth():
    spec = [tf.TensorSpec([None] * 4, F32), tf.TensorSpec([3, 3, None, 4], F32)]
    with pytest.raises(Exception, match=r"conv2d: input depth 3 does not match the filter's input depth 2"):
        _v2(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"), spec, np.ones((1, 5, 5, 3), np.float32),
            np.ones((3, 3, 2, 4), np.float32))


def test_fed_size_argument_is_a_clear_error():
    # tf.range(n) of a fed n raised a bare KeyError of the tensor
    with pytest.raises(ValueError, match=r"range 'range'.*'limit'.*compile-time constant"):
        _v2(lambda n: tf.range(n), [tf.TensorSpec([], tf.int32)], np.int32(4))
    with pytest.raises(ValueError, match=r"reshape 'Reshape'.*'shape'.*compile-time constant"):
        _v1(lambda x, s: tf.reshape(x, s), [(None, F32), ([2], tf.int32)], np.arange(4, dtype=np.float32),
            np.array([2, 2], np.int32))


@pytest.mark.parametrize("spec", [(0, 3, -2), (7, 3, 3), (1, 0, None), (2, 0, None)])
def test_slice_with_begin_after_end_of_a_symbolic_axis_is_empty(spec):
    # the type rule made the output dim -1: "negative dimensions are not allowed"
    b, e, s = spec
    f = tf.function(lambda t: t[b:e:s], input_signature=[tf.TensorSpec([None], F32)])
    for n in (0, 1, 5, 9):
        x = np.arange(n, dtype=np.float32)
        assert f(x).numpy().shape == x[b:e:s].shape == (0,)


def test_bincount_of_negative_values_is_an_error():
    # one_hot dropped them: bincount([1, -1]) gave [0, 1]
    with pytest.raises(ValueError, match="bincount: arr must be non-negative"):
        tf.math.bincount(np.array([1, -1], np.int32))
    np.testing.assert_array_equal(tf.math.bincount(np.array([1, 3, 1], np.int32)).numpy(), [0, 2, 0, 1])


def test_band_part_of_unknown_matrix_dims_is_a_clear_error():
    # was "unsupported operand type(s) for -: 'NoneType' and 'int'"
    with pytest.raises(ValueError, match="band_part: .*known matrix dims"):
        _v2(lambda x: tf.linalg.band_part(x, 0, -1), [tf.TensorSpec([None, None], F32)], np.ones((2, 2), np.float32))


def test_keras_fit_with_fewer_labels_than_samples_is_a_clear_error():
    # shuffled batches indexed past the shorter array: a bare numpy IndexError
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Data cardinality is ambiguous: x sizes: 10 y sizes: 8"):
        model.fit(np.ones((10, 3), np.float32), np.ones((8, 2), np.float32), verbose=0)
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.evaluate(np.ones((10, 3), np.float32), np.ones((7, 2), np.float32), verbose=0)


def test_assign_add_from_a_none_batch_placeholder():
    # a [None, 3] placeholder added to a [2, 3] variable was refused while building (TF checks at
    # run time); a feed of another batch is now that run-time error
    g = v1.Graph()
    with g.as_default():
        v = v1.Variable(np.zeros((2, 3), np.float32))
        p = v1.placeholder(F32, [None, 3])
        add = v1.assign_add(v, p)
        with v1.Session() as s:
            s.run(v1.global_variables_initializer())
            s.run(add, {p: np.ones((2, 3), np.float32)})
            np.testing.assert_array_equal(s.run(v), np.ones((2, 3)))
            with pytest.raises(v1.errors.InvalidArgumentError,
                               match=r"Cannot update variable with shape \[2, 3\] using a Tensor with shape \[3, 3\]"):
                s.run(add, {p: np.ones((3, 3), np.float32)})


def test_assign_of_a_symbolic_value_keeps_the_variable_shape():
    # v.assign(x) with x of signature [None, None] silently gave a (2, 3) variable a (3, 3) value
    v = tf.Variable(np.zeros((2, 3), np.float32))
    f = tf.function(lambda x: v.assign(x), input_signature=[tf.TensorSpec([None, None], F32)])
    with pytest.raises(Exception, match=r"Cannot assign a value of shape \[3, 3\] to variable .* of shape \(2, 3\)"):
        f(np.ones((3, 3), np.float32))
    f(np.full((2, 3), 5, np.float32))
    np.testing.assert_array_equal(v.numpy(), np.full((2, 3), 5))


@pytest.mark.parametrize("pool", [tf.nn.avg_pool2d, tf.nn.max_pool2d])
def test_valid_pool_window_wider_than_a_symbolic_input(pool):
    # the runtime sized the output (W-3)//3+1 = 0 wide (floor division) while the native loops
    # computed 1 (truncating division) and wrote past the buffer: heap corruption
    f = tf.function(lambda x: pool(x, [1, 3], 3, "VALID"), input_signature=[tf.TensorSpec([None, None, None, 3], F32)])
    assert f(np.ones((1, 7, 1, 3), np.float32)).numpy().shape == (1, 3, 0, 3)   # TF: (1 - 3 + 3) // 3 = 0
    x = np.random.RandomState(0).rand(2, 7, 8, 3).astype(np.float32)
    np.testing.assert_allclose(f(x).numpy(), pool(x, [1, 3], 3, "VALID").numpy(), rtol=1e-6)
    g = tf.function(lambda x: pool(x, [1, 5], 3, "VALID"), input_signature=[tf.TensorSpec([None, None, None, 3], F32)])
    with pytest.raises(Exception, match=r"pool: computed output size would be negative.*test_bad_input_shapes.py:\d+"):
        g(np.ones((1, 7, 1, 3), np.float32))                              # (1 - 5 + 3) < 0


def test_valid_conv_filter_wider_than_a_symbolic_input():
    k = np.ones((1, 3, 3, 2), np.float32)
    f = tf.function(lambda x: tf.nn.conv2d(x, k, 3, "VALID"), input_signature=[tf.TensorSpec([None, None, None, 3], F32)])
    assert f(np.ones((1, 7, 1, 3), np.float32)).numpy().shape == (1, 3, 0, 2)


def _eval_dim(d, env, trunc):
    from fuseflow.compiler.shapes import SymDim
    if not isinstance(d, SymDim):
        return d
    if d.kind == "sym":
        return env[d.args[0]]
    a, b = (_eval_dim(x, env, trunc) for x in d.args)
    if d.kind == "mul":
        return a * b
    if d.kind == "add":
        return a + b
    if not b:
        return 0
    return int(a / b) if trunc else a // b


def _symbolic_window_and_slice_graph():
    from fuseflow.compiler import dtypes as dt
    from fuseflow.compiler.builder import Emitter
    from fuseflow.compiler.ir import Graph
    from fuseflow.compiler.ops.shape_ops import canonical_strided_slice
    from fuseflow.compiler.shapes import SymDim
    g = Graph()
    em = Emitter(g)
    h, w = SymDim.symbol("h"), SymDim.symbol("w")
    x = em.parameter(index=0, shape=(1, h, w, 2), dtype=dt.float32)
    g.graph["inputs"].append(x.node)
    outs = []
    for k, s in [(3, 3), (5, 3), (3, 2), (2, 4), (1, 2)]:
        for op in ("max_pool", "avg_pool"):
            outs.append(em.emit(op, x, ksize=(k, k), strides=(s, s), padding="VALID"))
        outs.append(em.emit(op, x, ksize=(k, k), strides=(s, s), padding="SAME"))
    for b, e, st in [(1, None, 2), (-1, None, -2), (None, -1, 3), (2, -2, 2), (-3, None, 1)]:
        spec = canonical_strided_slice((1, h, w, 2), [0, b or 0, 0, 0], [0, e or 0, 0, 0], [1, st, 1, 1],
                                       begin_mask=0b1101 | (2 if b is None else 0),
                                       end_mask=0b1101 | (2 if e is None else 0))
        outs.append(em.emit("strided_slice", x, **spec))
    g.graph["outputs"] = outs
    return g


def test_runtime_and_native_dim_arithmetic_agree_whenever_the_dim_checks_pass():
    # The runtime sizes buffers with floor division; native code did truncating division (it now
    # floors too, tests/test_codegen.py): every input the dim checks let through must give both
    # the same sizes, so even truncation could not overrun a buffer.
    from fuseflow.compiler.lowering import dim_constraints
    g = _symbolic_window_and_slice_graph()
    checks = dim_constraints(g)
    dims = [d for n in g.topo() for t in g.output_types(n) for d in t.shape]
    for hv in range(0, 9):
        env = {"h": hv, "w": hv}
        if any(_eval_dim(a, env, False) != _eval_dim(b, env, False) for a, b, _ in checks):
            continue
        for d in dims:
            assert _eval_dim(d, env, False) == _eval_dim(d, env, True) >= 0, (d, env)


def test_reduction_axis_out_of_range_for_a_fed_rank_names_the_line():
    with pytest.raises(ValueError, match=r"axis 1 is out of range.*'Sum' at test_bad_input_shapes.py:\d+; input shape \[3\]"):
        _v1(lambda x: tf.reduce_sum(x, axis=1), [(None, F32)], X3)
    np.testing.assert_array_equal(_v1(lambda x: tf.reduce_sum(x, axis=1), [(None, F32)], np.ones((2, 3), np.float32)),
                                  [3, 3])


@pytest.mark.parametrize("build,shape,error", [
    (lambda t: t[:, :1], (0, 0), None), (lambda t: t[:, 2], (0, 2), "index 2 is out of bounds"),
    (lambda t: t[:, -1], (0, 0), "index -1 is out of bounds"), (lambda t: t[:, 1:3], (0, 2), None),
    (lambda t: tf.slice(t, [0, 1], [-1, 2]), (0, 2), "out of range")],
    ids=["head", "index", "last", "range", "slice"])
def test_fixed_size_slice_of_a_too_short_axis_even_when_empty(build, shape, error):
    # with no element to read the in-range check never ran: t[:, :1] of a (0, 0) value gave a
    # (0, 1) answer (TF: (0, 0)), and broadcasting it changed the shape of what followed. Now
    # Python slices clamp as in TF, and indexing or tf.slice out of range are TF's errors.
    f = tf.function(build, input_signature=[tf.TensorSpec([None, None], F32)])
    if error is None:
        assert f(np.zeros(shape, np.float32)).numpy().shape == build(tf.constant(np.zeros(shape, np.float32))).shape
    else:
        with pytest.raises(Exception, match=rf"slice.*{error}.*test_bad_input_shapes.py:\d+"):
            f(np.zeros(shape, np.float32))
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert f(x[:0]).numpy().shape == build(tf.constant(x[:0])).numpy().shape
    np.testing.assert_array_equal(f(x).numpy(), build(tf.constant(x)).numpy())
