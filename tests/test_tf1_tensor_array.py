"""tf.TensorArray in unrolled graph-mode while_loops: write/read/stack/unstack/gather/concat,
dynamic_size, and gradients through a hand-written RNN loop."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def test_tensor_array_loop_and_methods():
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=5)
        _, ta = tf.while_loop(lambda i, a: i < 5, lambda i, a: (i + 1, a.write(i, tf.cast(i, tf.float32) * 2)),
                              [0, ta])
        parts = tf.TensorArray(tf.int32, size=2, infer_shape=False).write(0, [1, 2]).write(1, [3])
        outs = [ta.stack(), ta.size(), ta.read(2), ta.gather([4, 0]), parts.concat()]
        with tf.Session() as sess:
            stacked, size, third, gathered, cat = sess.run(outs)
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.TensorArray(tf.float32, size=1).write(3, 1.0)
    assert stacked.tolist() == [0, 2, 4, 6, 8] and size == 5 and third == 4.0
    assert gathered.tolist() == [8, 0] and cat.tolist() == [1, 2, 3]


def test_rnn_loop_with_gradients():
    xv = np.random.RandomState(0).randn(4, 3).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4, 3])
        inputs = tf.TensorArray(tf.float32, size=4).unstack(x)
        outputs = tf.TensorArray(tf.float32, size=0, dynamic_size=True)

        def step(t, h, acc):
            h = tf.tanh(h + inputs.read(t))
            return t + 1, h, acc.write(t, h)
        _, _, outputs = tf.while_loop(lambda t, h, acc: t < 4, step, [tf.constant(0), tf.zeros([3]), outputs])
        seq = outputs.stack()
        grad, = tf.gradients(tf.reduce_sum(seq), x)
        with tf.Session() as sess:
            got, g = sess.run([seq, grad], {x: xv})
    h, ref = np.zeros(3), []
    for t in range(4):
        h = np.tanh(h + xv[t])
        ref.append(h)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    # d(sum of all h_t)/dx_3 = 1 - h_3^2
    np.testing.assert_allclose(g[3], 1 - ref[3] ** 2, atol=1e-5)


def test_writes_are_in_place_eagerly_and_new_arrays_in_graphs():
    import fuseflow as tf2
    ta = tf2.TensorArray(tf2.float32, size=2)
    ta.write(0, 1.0)                          # TF's eager TensorArray: modified in place
    same = ta.write(1, 2.0)
    assert same is ta and ta.stack().numpy().tolist() == [1.0, 2.0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="already been written"):
        ta.write(0, 3.0)
    with tf.Graph().as_default():
        g = tf.TensorArray(tf.float32, size=2, element_shape=[])
        g2 = g.write(0, 1.0)                  # graph flow: the old array is unchanged
        assert g2 is not g
        with tf.Session() as sess:
            assert sess.run(g.stack()).tolist() == [0.0, 0.0]
            assert sess.run(g2.stack()).tolist() == [1.0, 0.0]
