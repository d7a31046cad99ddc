"""TF2 ops built from primitives (segment reductions, tensor scatters, random shuffle/categorical),
host-only ops (unique_with_counts, linalg inv/det/solve) and TensorShape helpers, against numpy."""
import numpy as np
import pytest

import fuseflow as tf

D = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 6.0]], np.float32)


def test_unsorted_segment_reductions():
    ids = [0, 0, 2]
    mx = tf.math.unsorted_segment_max(D, ids, 4).numpy()
    lowest = np.finfo(np.float32).min
    np.testing.assert_array_equal(mx, [[3, 2], [lowest, lowest], [5, 6], [lowest, lowest]])
    assert tf.math.unsorted_segment_min(tf.constant([3, 1, 2]), [1, 1, 0], 3).numpy().tolist() == \
        [2, 1, np.iinfo(np.int32).max]
    np.testing.assert_array_equal(tf.math.unsorted_segment_prod(D, ids, 3).numpy(), [[3, 0], [1, 1], [5, 6]])
    np.testing.assert_array_equal(tf.math.unsorted_segment_mean(D, [1, 0, 1], 3).numpy(), [[3, 0], [3, 4], [0, 0]])


def test_sorted_segment_reductions_empty_segments():
    ids = [0, 0, 2]
    np.testing.assert_array_equal(tf.math.segment_max(D, ids).numpy(), [[3, 2], [0, 0], [5, 6]])
    np.testing.assert_array_equal(tf.math.segment_min(D, ids).numpy(), [[1, 0], [0, 0], [5, 6]])
    np.testing.assert_array_equal(tf.math.segment_mean(D, ids).numpy(), [[2, 1], [0, 0], [5, 6]])
    np.testing.assert_array_equal(tf.math.segment_prod(D, ids).numpy(), [[3, 0], [1, 1], [5, 6]])
    with pytest.raises(ValueError, match="sorted"):
        tf.math.segment_max(D, [1, 0, 0])


def test_segment_max_gradient_goes_to_the_maximum():
    v = tf.Variable(D)
    with tf.GradientTape() as t:
        y = tf.reduce_sum(tf.math.segment_max(v, [0, 0, 1]) * tf.constant([[1.0], [2.0]]))
    np.testing.assert_array_equal(t.gradient(y, v).numpy(), [[0, 1], [1, 0], [2, 2]])


def test_tensor_scatter_nd_family():
    x = tf.reshape(tf.range(6), [2, 3])
    assert tf.tensor_scatter_nd_update(x, [[0, 1], [1, 2]], [10, 20]).numpy().tolist() == [[0, 10, 2], [3, 4, 20]]
    assert tf.tensor_scatter_nd_update(x, [[1]], [[7, 8, 9]]).numpy().tolist() == [[0, 1, 2], [7, 8, 9]]
    assert tf.tensor_scatter_nd_add(tf.zeros([4], tf.int32), [[1], [1], [3]], [1, 2, 3]).numpy().tolist() == [0, 3, 0, 3]
    assert tf.tensor_scatter_nd_sub(x, [[0, 0]], [5]).numpy().tolist() == [[-5, 1, 2], [3, 4, 5]]
    assert tf.tensor_scatter_nd_max(x, [[0, 0], [0, 1]], [4, -1]).numpy().tolist() == [[4, 1, 2], [3, 4, 5]]
    assert tf.tensor_scatter_nd_min(x, [[1, 0]], [-2]).numpy().tolist() == [[0, 1, 2], [-2, 4, 5]]
    with pytest.raises(NotImplementedError, match="repeated indices"):
        tf.tensor_scatter_nd_update(x, [[0, 0], [0, 0]], [1, 2])
    v = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(tf.tensor_scatter_nd_update(v, [[1]], [9.0]) * tf.constant([1.0, 2.0, 3.0]))
    assert t.gradient(y, v).numpy().tolist() == [1.0, 0.0, 3.0]


def test_unique_with_counts():
    y, idx, count = tf.unique_with_counts(tf.constant([1, 1, 2, 4, 4, 4, 7, 8, 8]))
    assert y.numpy().tolist() == [1, 2, 4, 7, 8]
    assert idx.numpy().tolist() == [0, 0, 1, 2, 2, 2, 3, 4, 4]
    assert count.numpy().tolist() == [2, 1, 3, 1, 2] and count.dtype == tf.int32


def test_linalg_host_ops():
    a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(tf.linalg.inv(a).numpy(), [[-2, 1], [1.5, -0.5]], rtol=1e-6)
    assert tf.linalg.det(a).numpy() == pytest.approx(-2.0)
    np.testing.assert_allclose(tf.linalg.solve(a, tf.constant([[1.0], [2.0]])).numpy(), [[0.0], [0.5]], atol=1e-6)
    v = tf.Variable(a)
    with pytest.raises(NotImplementedError, match="tf.linalg.inv.*no gradient"):
        with tf.GradientTape():
            tf.linalg.inv(v)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.linalg.inv(tf.zeros([2, 2]))


def test_random_shuffle_and_categorical():
    s = tf.random.shuffle(tf.reshape(tf.range(20), [10, 2]), seed=3).numpy()
    assert sorted(s[:, 0].tolist()) == list(range(0, 20, 2)) and (s[:, 1] == s[:, 0] + 1).all()
    c = tf.random.categorical(tf.math.log([[0.0, 1.0], [1.0, 0.0]]), 5)
    assert c.dtype == tf.int64 and c.numpy().tolist() == [[1] * 5, [0] * 5]
    c32 = tf.random.categorical([[0.0, 0.0, 0.0]], 200, dtype=tf.int32, seed=1).numpy()
    assert set(c32.ravel().tolist()) == {0, 1, 2}


def test_tensor_shape_helpers():
    s = tf.TensorShape([2, None])
    assert s.concatenate([3]).as_list() == [2, None, 3]
    assert (s + tf.TensorShape([4])).as_list() == [2, None, 4]
    assert s.with_rank(2) is s
    assert tf.TensorShape(None).concatenate([1]).rank is None
    with pytest.raises(ValueError):
        s.assert_has_rank(3)
    with pytest.raises(ValueError):
        s.assert_is_compatible_with([3, 1])


def test_gather_nd_batch_dims_and_matvec():
    p = np.arange(24).reshape(2, 3, 4)
    out = tf.gather_nd(tf.constant(p), [[0, 1], [2, 3]], batch_dims=1)
    assert out.numpy().tolist() == [p[0, 0, 1], p[1, 2, 3]]
    rows = tf.gather_nd(tf.constant(p), [[1], [0]], batch_dims=1)
    assert rows.numpy().tolist() == [p[0, 1].tolist(), p[1, 0].tolist()]
    a = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert tf.linalg.matvec(a, tf.constant([1.0, 1.0])).numpy().tolist() == [3.0, 7.0]
    assert tf.linalg.matvec(a, tf.constant([1.0, 0.0]), transpose_a=True).numpy().tolist() == [1.0, 2.0]


def test_tensor_array_static_indices():
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for i in range(3):
        ta = ta.write(i, tf.constant([float(i), 2.0]))
    assert ta.stack().numpy().tolist() == [[0.0, 2.0], [1.0, 2.0], [2.0, 2.0]]
    assert int(ta.size()) == 3 and ta.read(1).numpy().tolist() == [1.0, 2.0]
    ta2 = tf.TensorArray(tf.int32, size=2).unstack([[1, 2], [3, 4]])
    assert ta2.gather([1, 0]).numpy().tolist() == [[3, 4], [1, 2]]
    assert ta2.concat().numpy().tolist() == [1, 2, 3, 4]
    with pytest.raises(tf.errors.InvalidArgumentError, match="not resizeable"):
        tf.TensorArray(tf.float32, size=1).write(2, 1.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="already been written"):
        tf.TensorArray(tf.float32, size=1).write(0, 1.0).write(0, 2.0)

    @tf.function
    def f(x):
        arr = tf.TensorArray(tf.float32, size=3)
        for i in range(3):
            arr = arr.write(i, x * i)
        return arr.stack()

    assert f(tf.constant(2.0)).numpy().tolist() == [0.0, 2.0, 4.0]


def test_random_generator_sequences():
    g = tf.random.Generator.from_seed(1)
    a, b = g.normal([3]).numpy(), g.normal([3]).numpy()
    assert tf.random.Generator.from_seed(1).normal([3]).numpy().tolist() == a.tolist()
    assert a.tolist() != b.tolist()
    u = g.uniform([100], 2, 5, dtype=tf.int32).numpy()
    assert u.dtype == np.int32 and u.min() >= 2 and u.max() < 5
    t = g.truncated_normal([200]).numpy()
    assert np.abs(t).max() <= 2.0

    @tf.function
    def draw():
        return g.normal([2])

    with pytest.warns(RuntimeWarning, match="Generator"):        # runs op by op (not compilable)
        assert draw().shape == (2,)


def test_small_compositions():
    assert tf.math.polyval([1.0, 2.0, 3.0], tf.constant([0.0, 1.0, 2.0])).numpy().tolist() == [3.0, 6.0, 11.0]
    assert tf.linalg.cross([1.0, 0, 0], [0.0, 1, 0]).numpy().tolist() == [0.0, 0.0, 1.0]
    assert tf.searchsorted([[1, 3, 5]], [[2, 5, 6]]).numpy().tolist() == [[1, 2, 3]]
    assert tf.searchsorted([1, 3, 5], [2, 5, 6], side="right").numpy().tolist() == [1, 3, 3]
    # the example from TF's documentation
    h = tf.histogram_fixed_width(tf.constant([-1.0, 0.0, 1.5, 2.0, 5.0, 15.0]), [0.0, 5.0], nbins=5)
    assert h.dtype == tf.int32 and h.numpy().tolist() == [2, 1, 1, 0, 2]
    assert float(tf.linalg.global_norm([tf.constant([3.0]), tf.constant([4.0])])) == 5.0


@pytest.mark.parametrize("eq, shapes", [
    ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("bii->b", [(2, 3, 3)]), ("...ii->...i", [(2, 3, 3)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 1)]), ("...j->...", [(2, 3, 4)]), ("ij...->...", [(2, 3, 4)]),
    ("bij,bjk", [(2, 3, 4), (2, 4, 5)]), ("i,i", [(4,), (4,)]),
])
def test_einsum_ellipsis_and_diagonals_match_numpy(eq, shapes):
    rs = np.random.RandomState(1)
    ops = [rs.uniform(-1, 1, s).astype(np.float32) for s in shapes]
    np.testing.assert_allclose(tf.einsum(eq, *ops).numpy(), np.einsum(eq, *ops), rtol=1e-5, atol=1e-6)


def test_einsum_trace_gradient():
    v = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        y = tf.einsum("ii", v)
    assert float(y) == 5.0
    assert tape.gradient(y, v).numpy().tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_more_math_nn_and_linalg():
    assert tf.math.reciprocal_no_nan(tf.constant([0.0, 2.0])).numpy().tolist() == [0.0, 0.5]
    np.testing.assert_allclose(tf.math.xlog1py(tf.constant([0.0, 2.0]), tf.constant([-1.0, 1.0])).numpy(),
                               [0.0, 2 * np.log(2)], rtol=1e-6)
    assert bool(tf.math.is_non_decreasing([1, 1, 2])) and not bool(tf.math.is_strictly_increasing([1, 1, 2]))
    assert tf.math.invert_permutation([3, 4, 0, 2, 1]).numpy().tolist() == [2, 4, 3, 0, 1]
    np.testing.assert_allclose(tf.math.cumulative_logsumexp(tf.constant([0.0, 0.0, 0.0])).numpy(),
                               np.log([1, 2, 3]), rtol=1e-6)
    unit, norm = tf.linalg.normalize(tf.constant([3.0, 4.0]))
    assert unit.numpy().tolist() == pytest.approx([0.6, 0.8]) and norm.numpy().tolist() == [5.0]
    mean, var = tf.nn.weighted_moments(tf.constant([1.0, 2.0, 3.0]), [0], tf.constant([1.0, 1.0, 2.0]))
    assert float(mean) == pytest.approx(2.25) and float(var) == pytest.approx(0.6875)
    c, m, v, _ = tf.nn.sufficient_statistics(tf.constant([1.0, 2.0, 3.0]), [0])
    mean, var = tf.nn.normalize_moments(c, m, v, None)
    assert float(mean) == pytest.approx(2.0) and float(var) == pytest.approx(2 / 3)
    x = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    np.testing.assert_allclose(tf.nn.convolution(x, tf.ones([2, 2, 1, 1])).numpy(),
                               tf.nn.conv2d(x, tf.ones([2, 2, 1, 1]), 1, "VALID").numpy())
    np.testing.assert_allclose(tf.nn.pool(x, [2, 2], "MAX", strides=[2, 2]).numpy()[0, :, :, 0], [[5, 7], [13, 15]])
    a = tf.constant([[4.0, 2.0], [2.0, 3.0]])
    np.testing.assert_allclose(tf.linalg.cholesky(a).numpy(), np.linalg.cholesky(a.numpy()), rtol=1e-6)
    assert float(tf.linalg.slogdet(a)[1]) == pytest.approx(np.log(8.0))
    s, u, v = tf.linalg.svd(a)
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ v.numpy().T, a.numpy(), atol=1e-5)
    np.testing.assert_allclose(tf.linalg.eigh(a)[0].numpy(), np.linalg.eigvalsh(a.numpy()), rtol=1e-6)


def test_environment_extras():
    tf.get_logger().setLevel("ERROR")
    assert tf.test.is_gpu_available() is False and tf.test.gpu_device_name() == ""
    assert tf.version.VERSION.startswith("2.")
    assert float(tf.timestamp()) > 0
    with pytest.raises(NotImplementedError, match="saved_model"):
        tf.saved_model.save(None, "/tmp/unused")


def test_tf2_random_poisson_and_gamma_argument_order():
    p = tf.random.poisson([2000], 3.0, seed=1)
    g = tf.random.gamma([2000], 2.0, seed=1)
    assert p.shape.as_list() == [2000] and abs(float(tf.reduce_mean(p)) - 3.0) < 0.3
    assert g.shape.as_list() == [2000] and abs(float(tf.reduce_mean(g)) - 2.0) < 0.3
    assert tf.random.poisson([2, 3], [1.0, 5.0]).shape.as_list() == [2, 3, 2]
