"""tf.gradients as an IR transform (graph mode) and TF1 training end to end.

Gradients are checked against central differences of a numpy transcription of the forward
computation, in float64."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def numeric_grad(f, x, eps=1e-6):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def check(build, np_fn, *arrays, rtol=1e-5):
    """build(*placeholders) -> scalar loss; np_fn(*arrays) -> the same loss in numpy."""
    with tf.Graph().as_default():
        phs = [tf.placeholder(tf.float64, a.shape) for a in arrays]
        loss = build(*phs)
        grads = tf.gradients(loss, phs)
        with tf.Session() as sess:
            got = sess.run(grads, feed_dict=dict(zip(phs, arrays)))
    for k, a in enumerate(arrays):
        def f(x, k=k):
            args = list(arrays)
            args[k] = x
            return np_fn(*args)
        np.testing.assert_allclose(got[k], numeric_grad(f, a), rtol=rtol, atol=1e-7)


rs = np.random.RandomState(0)


def test_broadcasting_add_mul():
    a, b = rs.randn(3, 4), rs.randn(4)
    check(lambda x, y: tf.reduce_sum((x + y) * (x * y)), lambda x, y: np.sum((x + y) * (x * y)), a, b)


def test_broadcasting_keepdims_column():
    a, b = rs.randn(3, 4), rs.randn(3, 1)
    check(lambda x, y: tf.reduce_sum(tf.square(x - y)), lambda x, y: np.sum((x - y) ** 2), a, b)


def test_reductions_mean_and_axis():
    a = rs.randn(2, 3, 4)
    check(lambda x: tf.reduce_sum(tf.reduce_mean(x, axis=1) ** 2),
          lambda x: np.sum(np.mean(x, axis=1) ** 2), a)


def test_matmul_and_transpose():
    a, b = rs.randn(3, 4), rs.randn(4, 2)
    check(lambda x, y: tf.reduce_sum(tf.tanh(tf.matmul(x, y))), lambda x, y: np.sum(np.tanh(x @ y)), a, b)
    check(lambda x, y: tf.reduce_sum(tf.matmul(y, x, transpose_a=True, transpose_b=True) ** 2),
          lambda x, y: np.sum((y.T @ x.T) ** 2), a, b)


def test_where_and_greater():
    a, b = rs.randn(5), rs.randn(5)
    check(lambda x, y: tf.reduce_sum(tf.where(tf.greater(x, y), 3.0 * (x - y), 2.0 * (y - x))),
          lambda x, y: np.sum(np.where(x > y, 3 * (x - y), 2 * (y - x))), a, b)


def test_clip_by_value():
    a = np.array([-2.0, -0.5, 0.1, 0.7, 3.0])
    check(lambda x: tf.reduce_sum(tf.clip_by_value(x, -1.0, 1.0) * x),
          lambda x: np.sum(np.clip(x, -1, 1) * x), a)


def test_reduce_max():
    a = rs.randn(3, 5)
    check(lambda x: tf.reduce_sum(tf.reduce_max(x, axis=1) * tf.constant([1.0, 2.0, 3.0], tf.float64)),
          lambda x: np.sum(np.max(x, axis=1) * np.array([1.0, 2.0, 3.0])), a)


def test_softmax_cross_entropy():
    logits = rs.randn(4, 3)
    labels = np.eye(3)[[0, 2, 1, 2]]

    def np_loss(z):
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -np.mean(np.sum(labels * logp, axis=1))

    check(lambda z: tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z)), np_loss,
          logits)


def test_sparse_softmax_cross_entropy_grad_is_p_minus_onehot():
    with tf.Graph().as_default():
        logits = tf.constant([[2.0, 1.0, 0.1]])
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0], logits=logits)
        g, = tf.gradients(loss, logits)
        with tf.Session() as sess:
            p = np.exp([2.0, 1.0, 0.1]) / np.exp([2.0, 1.0, 0.1]).sum()
            np.testing.assert_allclose(sess.run(g), [p - [1, 0, 0]], rtol=1e-5)


def test_unconnected_integer_and_stop_gradient_give_none():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3])
        y = tf.placeholder(tf.float32, [3])
        n = tf.placeholder(tf.int32, [3])
        loss = tf.reduce_sum(x * 2.0 + tf.cast(tf.cast(y, tf.int32) + n, tf.float32)) + tf.reduce_sum(tf.stop_gradient(y))
        gx, gy, gn = tf.gradients(loss, [x, y, n])
        assert gy is None and gn is None
        zero = tf.gradients(loss, y, unconnected_gradients=tf.UnconnectedGradients.ZERO)[0]
        with tf.Session() as sess:
            vx, vz = sess.run([gx, zero], feed_dict={x: np.ones(3), y: np.ones(3), n: np.ones(3, np.int32)})
        np.testing.assert_array_equal(vx, [2.0, 2.0, 2.0])
        np.testing.assert_array_equal(vz, [0.0, 0.0, 0.0])


def test_grad_ys_and_multiple_ys():
    with tf.Graph().as_default():
        x = tf.constant([1.0, 2.0])
        y1, y2 = x * 3.0, x * x
        g1, = tf.gradients(y1, x, grad_ys=tf.constant([1.0, 10.0]))
        g2, = tf.gradients([y1, y2], x)
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(g1), [3.0, 30.0])
            np.testing.assert_allclose(sess.run(g2), [5.0, 7.0])


def test_gradients_of_variables_through_all_reads():
    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0])
        loss = tf.reduce_sum(w * w) + tf.reduce_sum(w.read_value() * 3.0)
        g, = tf.gradients(loss, [w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(g), [2.0 + 3.0, 4.0 + 3.0])


def test_second_order_gradients_in_graph_mode():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        dy, = tf.gradients(x ** 3, x)
        d2y, = tf.gradients(dy, x)
        with tf.Session() as sess:
            assert sess.run([dy, d2y], feed_dict={x: 2.0}) == pytest.approx([12.0, 12.0])


def test_gradients_in_eager_mode_raise():
    import fuseflow as tf2
    from fuseflow.context import executing_eagerly
    if not executing_eagerly():
        pytest.skip("eager execution disabled in this process")
    with pytest.raises(RuntimeError, match="GradientTape"):
        tf2.gradients(tf2.constant(1.0), tf2.constant(1.0))


def test_linear_regression_converges():
    rng = np.random.RandomState(1)
    xs = rng.rand(100, 3).astype(np.float32)
    true_w = np.array([[1.5], [-2.0], [0.5]], np.float32)
    ys = (xs @ true_w + 0.7).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        y = tf.placeholder(tf.float32, [None, 1])
        w = tf.Variable(np.zeros((3, 1), np.float32))
        b = tf.Variable(0.0)
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(400):
                _, lv = sess.run([step, loss], feed_dict={x: xs, y: ys})
            assert lv < 1e-4
            np.testing.assert_allclose(sess.run(w), true_w, atol=2e-2)
            assert sess.run(b) == pytest.approx(0.7, abs=2e-2)
