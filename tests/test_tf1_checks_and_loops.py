"""TF1 assertions (tf.Assert, tf.assert_*, check_numerics), map_fn / scan / foldl / foldr over
a static leading dimension, and tf.multinomial / tf.random.categorical / tf.random.shuffle."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def test_passing_asserts_as_control_dependencies():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        checks = [tf.assert_positive(x), tf.assert_equal(x, x), tf.assert_less(x, 3.0), tf.assert_rank(x, 1),
                  tf.assert_non_negative(x), tf.assert_greater_equal(x, 1.0), tf.assert_type(x, tf.float32),
                  tf.debugging.assert_near(x, x + 1e-7)]
        with tf.control_dependencies(checks):
            y = tf.identity(x) * 2
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
            with pytest.raises(tf.errors.InvalidArgumentError, match="x must be positive"):
                with tf.control_dependencies([tf.assert_positive(x, message="x must be positive")]):
                    z = tf.identity(x)
                sess.run(z, {x: [1.0, -1.0]})


def test_assert_message_and_node_name():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [None], name="x")
        a = tf.assert_equal(x, 2, message="not two")
        assert a.name == "assert_equal/Assert"
        with tf.Session() as sess:
            sess.run(a, {x: [2, 2]})
            with pytest.raises(tf.errors.InvalidArgumentError) as info:
                sess.run(a, {x: [2, 3]})
    msg = str(info.value)
    assert "not two" in msg and "Condition x == y did not hold element-wise:" in msg and "[2 3]" in msg


def test_static_assert_failures_raise_while_building():
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.assert_equal(tf.constant([1, 2]), tf.constant([1, 3]))
        with pytest.raises(ValueError):
            tf.assert_rank(tf.constant([1.0, 2.0]), 2)
        with pytest.raises(TypeError):
            tf.assert_type(tf.constant([1.0]), tf.int32)
        with pytest.raises(TypeError):
            tf.assert_integer(tf.constant([1.0]))
        with pytest.raises(ValueError):
            tf.assert_scalar(tf.constant([1.0]))


def test_tf_assert_and_check_numerics():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [])
        a = tf.Assert(p > 0, ["p was", p])
        c = tf.check_numerics(tf.log(p), "log of p")
        with tf.Session() as sess:
            sess.run(a, {p: 1.0})
            assert sess.run(c, {p: 1.0}) == 0.0
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[p was\] \[-1\]"):
                sess.run(a, {p: -1.0})
            with pytest.raises(tf.errors.InvalidArgumentError, match="log of p"):
                sess.run(c, {p: -1.0})


def run(build, feed=None):
    with tf.Graph().as_default():
        out = build()
        with tf.Session() as sess:
            return sess.run(out, feed)


def test_map_fn_scan_fold():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    got = run(lambda: [
        tf.map_fn(lambda r: r * 2, tf.constant(x)),
        tf.map_fn(lambda r: tf.reduce_sum(r), tf.constant([[1, 2], [3, 4]]), dtype=tf.int32),
        tf.map_fn(lambda t: t[0] * t[1], (tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])), dtype=tf.float32),
        tf.scan(lambda a, e: a + e, tf.constant([1.0, 2.0, 3.0, 4.0])),
        tf.scan(lambda a, e: a * e, tf.constant([1.0, 2.0, 3.0, 4.0]), initializer=tf.constant(2.0)),
        tf.scan(lambda a, e: a + e, tf.constant([1, 2, 3]), reverse=True),
        tf.foldl(lambda a, e: a - e, tf.constant([1, 2, 3]), initializer=10),
        tf.foldr(lambda a, e: a - e, tf.constant([1, 2, 3])),
        tf.scan(lambda a, e: (a[0] + e, a[1] * e), tf.constant([1.0, 2.0, 3.0]),
                initializer=(tf.constant(0.0), tf.constant(1.0))),
    ])
    want = [x * 2, [3, 7], [3.0, 8.0], [1, 3, 6, 10], [2, 4, 12, 48], [6, 5, 3], 4, 0,
            ([1.0, 3.0, 6.0], [1.0, 2.0, 6.0])]
    for g, w in zip(got[:8], want[:8]):
        np.testing.assert_allclose(g, w)
    np.testing.assert_allclose(got[8][0], want[8][0])
    np.testing.assert_allclose(got[8][1], want[8][1])


def test_map_fn_gradient_and_dynamic_leading_dim():
    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0])
        y = tf.reduce_sum(tf.map_fn(lambda r: r * w, tf.constant([[1.0, 1.0], [2.0, 3.0]])))
        g, = tf.gradients(y, [w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(g), [3.0, 4.0])
        with pytest.raises(NotImplementedError, match="map_fn"):
            tf.map_fn(lambda r: r, tf.placeholder(tf.float32, [None, 2]))


def test_categorical_and_shuffle_properties():
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        logits = tf.placeholder(tf.float32, [None, 3])
        s = tf.multinomial(logits, 4000)
        c = tf.random.categorical(tf.log([[0.0, 1.0]]), 5, dtype=tf.int32)
        sh = tf.random.shuffle(tf.range(10))
        with tf.Session() as sess:
            r = sess.run(s, {logits: np.log([[0.1, 0.3, 0.6], [1.0, 1e-30, 1e-30]])})
            cr = sess.run(c)
            shr = sess.run(sh)
    assert r.shape == (2, 4000) and r.dtype == np.int64
    np.testing.assert_allclose(np.bincount(r[0], minlength=3) / 4000.0, [0.1, 0.3, 0.6], atol=0.03)
    assert (r[1] == 0).all()
    assert cr.dtype == np.int32 and (cr == 1).all()
    assert sorted(shr.tolist()) == list(range(10))


def test_gradients_with_respect_to_stop_tensors():
    with tf.Graph().as_default():
        a = tf.constant(0.0)
        b = 2 * a
        both = tf.gradients(a + b, [a, b], stop_gradients=[a, b])
        only_b = tf.gradients(a + b, [a, b], stop_gradients=[b])
        plain = tf.gradients(a + b, [a, b])
        w = tf.Variable(3.0)
        h = w * w
        through = tf.gradients(h * 2.0, [w, h], stop_gradients=[h])
        assert through[0] is None
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(both) == [1.0, 1.0]
            assert sess.run(only_b) == [1.0, 1.0]
            assert sess.run(plain) == [3.0, 1.0]
            assert sess.run(through[1]) == 2.0


def test_check_numerics_in_the_loss_path_trains():
    with tf.Graph().as_default():
        w = tf.Variable(2.0)
        loss = tf.check_numerics(w * w, "bad loss")
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            assert abs(sess.run(w) - 1.6) < 1e-6


def test_add_check_numerics_ops():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2])
        w = tf.Variable([1.0, 1.0])
        y = tf.log(x) * w
        check = tf.add_check_numerics_ops()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run([y, check], {x: [1.0, 2.0]})[1] is None
            with pytest.raises(tf.errors.InvalidArgumentError, match="Log:0 : Tensor had Inf values"):
                sess.run([y, check], {x: [1.0, 0.0]})
