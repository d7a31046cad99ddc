"""TF1 input batching return types (a lone component comes back unwrapped, as TF's
dequeue_many returns it) and Saver features around checkpoints."""
import os

import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def test_batch_of_one_component_is_a_tensor():
    with tf.Graph().as_default():
        x = tf.constant(np.arange(20).reshape(10, 2))
        row = tf.train.slice_input_producer([x], shuffle=False)
        assert isinstance(row, list) and len(row) == 1
        b = tf.train.batch(row, batch_size=4)
        pair = tf.train.batch([tf.constant(1), tf.constant(2.0)], batch_size=2)
        d = tf.train.batch({"a": tf.constant(1)}, batch_size=2)
        sb = tf.train.shuffle_batch([tf.range(3)], batch_size=5, capacity=50, min_after_dequeue=10)
        assert isinstance(b, tf.Tensor) and b.shape.as_list() == [4, 2]
        assert isinstance(pair, list) and len(pair) == 2
        assert isinstance(d, dict) and list(d) == ["a"]
        assert isinstance(sb, tf.Tensor) and sb.shape.as_list() == [5, 3]
        with tf.Session() as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            got = sess.run(b)
            shuffled = sess.run(sb)
            coord.request_stop()
            coord.join(threads)
    np.testing.assert_array_equal(got, np.arange(8).reshape(4, 2))
    assert (shuffled == [0, 1, 2]).all()


def test_saver_round_trip_and_import_meta_graph(tmp_path):
    d = str(tmp_path)
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        inc = tf.assign_add(v, [1.0, 1.0])
        saver = tf.train.Saver(max_to_keep=2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for i in range(3):
                sess.run(inc)
                saver.save(sess, os.path.join(d, "model.ckpt"), global_step=i)
        assert tf.train.latest_checkpoint(d) == os.path.join(d, "model.ckpt-2")
        assert not os.path.exists(os.path.join(d, "model.ckpt-0.index"))      # max_to_keep
        with tf.Session() as sess:
            saver.restore(sess, tf.train.latest_checkpoint(d))
            np.testing.assert_allclose(sess.run(v), [4.0, 5.0])
    with tf.Graph().as_default() as g:
        # a .meta written by this process imports (graph kept in memory; see test_e2e_import_meta_graph)
        assert isinstance(tf.train.import_meta_graph(os.path.join(d, "model.ckpt-2.meta")), tf.train.Saver)
        assert g.get_tensor_by_name("v:0") is not None


def test_restore_errors(tmp_path):
    prefix = os.path.join(str(tmp_path), "m.ckpt")
    with tf.Graph().as_default():
        tf.Variable([1.0, 2.0], name="v1")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False)
            with pytest.raises(ValueError, match="not a valid checkpoint"):
                saver.restore(sess, os.path.join(str(tmp_path), "missing.ckpt"))
    with tf.Graph().as_default():
        tf.Variable(0.0, name="other")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.NotFoundError, match="other"):
                tf.train.Saver().restore(sess, prefix)
