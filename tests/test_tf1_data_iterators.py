"""tf.data in TF1 graph mode: map functions run on values (not recorded into the graph),
Python-valued sources, and datasets built from placeholders fed through the initializable
iterator's initializer."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def drain(sess, nxt, feed=None):
    out = []
    try:
        while True:
            out.append(sess.run(nxt, feed))
    except tf.errors.OutOfRangeError:
        return out


def test_map_and_range_in_graph_mode():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices((np.arange(5, dtype=np.float32), np.arange(5)))
        ds = ds.map(lambda a, b: (a * 2 + 1, tf.cast(b, tf.int32))).batch(2)
        nxt = ds.make_one_shot_iterator().get_next()
        r = tf.data.make_one_shot_iterator(tf.data.Dataset.range(3).map(lambda v: v * 10)).get_next()
        with tf.Session() as sess:
            got = drain(sess, nxt)
            rs = drain(sess, r)
    np.testing.assert_allclose(got[0][0], [1.0, 3.0])
    np.testing.assert_allclose(got[2][0], [9.0])
    assert got[1][1].dtype == np.int32 and got[1][1].tolist() == [2, 3]
    assert [int(v) for v in rs] == [0, 10, 20]


def test_placeholder_fed_initializable_iterator():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        y = tf.placeholder(tf.int64, [None])
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1).repeat(2).batch(3)
        it = ds.make_initializable_iterator()
        fx, fy = it.get_next()
        assert fx.shape.as_list() == [None, 2] and fy.dtype == tf.int64
        total = tf.reduce_sum(fx)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.FailedPreconditionError):
                sess.run(fx)
            sess.run(it.initializer, {x: [[1, 2], [3, 4]], y: [7, 8]})
            first = sess.run([fx, fy])
            rest = drain(sess, total)
            sess.run(it.initializer, {x: [[10, 20]], y: [1]})   # re-initialised with new data
            again = drain(sess, fy)
        with pytest.raises(ValueError, match="placeholder"):
            tf.data.Dataset.from_tensor_slices(x).make_one_shot_iterator()
    np.testing.assert_allclose(first[0], [[1, 2], [3, 4], [1, 2]])
    assert first[1].tolist() == [7, 8, 7]
    assert rest == [7.0]
    assert [a.tolist() for a in again] == [[1, 1]]
