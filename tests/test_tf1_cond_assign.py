"""tf.cond with a runtime predicate whose branches assign variables (TF1's batch-norm idiom:
ema.apply in the training branch): only the branch taken updates state. Also the moving
average of plain tensors (zero-initialised shadows, as TF's create_zeros_slot)."""
import numpy as np

import fuseflow.compat.v1 as tf


def test_batch_norm_moving_average_idiom():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        training = tf.placeholder(tf.bool, [])
        batch_mean, batch_var = tf.nn.moments(x, [0])
        ema = tf.train.ExponentialMovingAverage(decay=0.5)

        def update():
            apply_op = ema.apply([batch_mean, batch_var])
            with tf.control_dependencies([apply_op]):
                return tf.identity(batch_mean), tf.identity(batch_var)
        mean, var = tf.cond(training, update, lambda: (ema.average(batch_mean), ema.average(batch_var)))
        assert tf.moving_average_variables() == []
        data = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            m1, v1 = sess.run([mean, var], {x: data, training: True})
            m2, v2 = sess.run([mean, var], {x: data * 2, training: False})
            avg_after_eval = sess.run(ema.average(batch_mean))
            sess.run(mean, {x: data * 2, training: True})
            avg_after_train = sess.run(ema.average(batch_mean))
    np.testing.assert_allclose(m1, [2, 2, 2])
    np.testing.assert_allclose(v1, [1, 0, 1])
    np.testing.assert_allclose(m2, [1, 1, 1])            # 0 + (2 - 0) * 0.5
    np.testing.assert_allclose(v2, [0.5, 0, 0.5])
    np.testing.assert_allclose(avg_after_eval, [1, 1, 1])  # the eval branch did not update
    np.testing.assert_allclose(avg_after_train, [2.5, 2.5, 2.5])


def test_nested_conditional_assignments():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.bool, [])
        b = tf.placeholder(tf.bool, [])
        v = tf.Variable(0)
        out = tf.cond(a, lambda: tf.cond(b, lambda: tf.assign_add(v, 1), lambda: tf.assign_add(v, 10)),
                      lambda: tf.assign_sub(v, 100))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = [sess.run(out, {a: p, b: q}) for p, q in [(True, True), (True, False), (False, True)]]
            final = sess.run(v)
    assert got == [1, 11, -89] and final == -89


def test_ema_of_tensor_with_zero_debias():
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float32, [2])
        ema = tf.train.ExponentialMovingAverage(0.9, zero_debias=True)
        op = ema.apply([t])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(op, {t: [1.0, 2.0]})
            first = sess.run(ema.average(t))
            sess.run(op, {t: [3.0, 4.0]})
            second = sess.run(ema.average(t))
    np.testing.assert_allclose(first, [1.0, 2.0], rtol=1e-5)      # debiased: exact first value
    biased = 0.9 * 0.1 * np.array([1.0, 2.0]) + 0.1 * np.array([3.0, 4.0])
    np.testing.assert_allclose(second, biased / (1 - 0.9 ** 2), rtol=1e-5)


def test_both_branches_assign_the_same_variable():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool)
        x = tf.Variable(0)
        y = tf.Variable(10.0)
        r = tf.cond(pred, lambda: tf.assign(x, 1), lambda: tf.assign(x, 2))
        r2 = tf.cond(pred, lambda: tf.assign(y, y * 2), lambda: tf.assign(y, y - 1))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = []
            for p in [True, False, True]:
                got.append((sess.run(r, {pred: p}), sess.run(x), sess.run(r2, {pred: p}), sess.run(y)))
    assert got == [(1, 1, 20.0, 20.0), (2, 2, 19.0, 19.0), (1, 1, 38.0, 38.0)]
