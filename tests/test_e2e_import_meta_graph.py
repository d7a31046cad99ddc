"""TF1 'save, then restore into a new graph' with tf.train.import_meta_graph in one program."""
import os

import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def test_import_meta_graph_restores_and_keeps_training(tmp_path):
    X = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        w = tf.Variable([[1.0], [2.0]], name="w")
        b = tf.Variable(0.5, name="b")
        y = tf.add(tf.matmul(x, w), b, name="y")
        tf.add_to_collection("pred", y)
        train = tf.train.GradientDescentOptimizer(0.01).minimize(tf.reduce_mean(tf.square(y)), name="train")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train, {x: X})
            path = saver.save(sess, os.path.join(str(tmp_path), "model.ckpt"), global_step=3)
            ref = sess.run(y, {x: X})
            sess.run(train, {x: X})
            ref_next = sess.run(y, {x: X})
    with tf.Graph().as_default() as g, tf.Session(graph=g) as sess:
        new_saver = tf.train.import_meta_graph(path + ".meta")
        new_saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
        x2, y2 = g.get_tensor_by_name("x:0"), g.get_tensor_by_name("y:0")
        np.testing.assert_allclose(sess.run(y2, {x2: X}), ref)
        np.testing.assert_allclose(sess.run(tf.get_collection("pred")[0], {x2: X}), ref)
        sess.run(g.get_operation_by_name("train"), {x2: X})
        np.testing.assert_allclose(sess.run(y2, {x2: X}), ref_next, rtol=1e-6)
        assert [v.name for v in tf.global_variables()] == ["w:0", "b:0"]
    with tf.Graph().as_default():
        tf.constant(1.0)
        with pytest.raises(NotImplementedError, match="fresh graph"):
            tf.train.import_meta_graph(path + ".meta")
