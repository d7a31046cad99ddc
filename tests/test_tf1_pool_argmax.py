"""tf.nn.max_pool_with_argmax (001's unpooling example): pooled values equal max_pool, argmax
is the flat (y * W + x) * C + c index of the first maximum of each window."""
import numpy as np

import fuseflow.compat.v1 as tf


def test_unpool_example():
    rows = [[[float(r), float(r + 4)]] * 4 for r in range(4)]
    with tf.Graph().as_default():
        img = tf.reshape(tf.constant(rows), [1, 4, 4, 2])
        encode, mask = tf.nn.max_pool_with_argmax(img, [1, 2, 2, 1], [1, 2, 2, 1], padding="SAME")
        flat = tf.reshape(encode, [-1])
        indices = tf.stack([mask // 8, mask % 8 // 2, tf.ones_like(mask) * tf.range(2, dtype=tf.int64)], -1)
        unpooled = tf.scatter_nd(tf.reshape(indices, [-1, 3]), flat, [4, 4, 2])
        with tf.Session() as sess:
            e, m, u = sess.run([encode, mask, unpooled])
    assert e.ravel().tolist() == [1, 5, 1, 5, 3, 7, 3, 7]
    assert m.dtype == np.int64 and m.ravel().tolist() == [8, 9, 12, 13, 24, 25, 28, 29]
    assert u[..., 1].tolist() == [[0, 0, 0, 0], [5, 0, 5, 0], [0, 0, 0, 0], [7, 0, 7, 0]]


def test_argmax_indices_against_values():
    x = np.random.RandomState(0).randn(2, 5, 7, 3).astype(np.float32)
    with tf.Graph().as_default():
        same = tf.nn.max_pool_with_argmax(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME", include_batch_in_index=True)
        valid = tf.nn.max_pool_with_argmax(x, [1, 2, 3, 1], [1, 1, 2, 1], "VALID", Targmax=tf.int32)
        refs = [tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME"), tf.nn.max_pool(x, [1, 2, 3, 1], [1, 1, 2, 1], "VALID")]
        with tf.Session() as sess:
            (e1, m1), (e2, m2), (r1, r2) = sess.run([same, valid, refs])
    np.testing.assert_array_equal(e1, r1)
    np.testing.assert_array_equal(x.ravel()[m1], e1)
    np.testing.assert_array_equal(e2, r2)
    assert m2.dtype == np.int32
    for b in range(2):
        np.testing.assert_array_equal(x[b].ravel()[m2[b]], e2[b])


def test_convolution_and_pool_dispatch():
    rs = np.random.RandomState(0)
    x = rs.randn(2, 6, 6, 2).astype(np.float32)
    k = rs.randn(3, 3, 2, 3).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        pairs = sess.run([
            (tf.nn.convolution(x, k, "SAME", strides=[2, 2]), tf.nn.conv2d(x, k, [1, 2, 2, 1], "SAME")),
            (tf.nn.convolution(x, k, "VALID", dilation_rate=[2, 2]),
             tf.nn.conv2d(x, k, [1, 1, 1, 1], "VALID", dilations=[1, 2, 2, 1])),
            (tf.nn.pool(x, [2, 2], "MAX", "VALID", strides=[2, 2]), tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")),
            (tf.nn.pool(x, [3, 3], "AVG", "SAME", strides=[2, 2]), tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")),
            (tf.nn.convolution(x[:, 0], k[0], "SAME"), tf.nn.conv1d(x[:, 0], k[0], 1, "SAME")),
        ])
        one_d = sess.run(tf.nn.pool(x[:, 0], [2], "MAX", "VALID", strides=[2]))
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_array_equal(one_d, x[:, 0].reshape(2, 3, 2, 2).max(2))
