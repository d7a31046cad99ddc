"""Minimal tf.SparseTensor (densified for compute): fetch as SparseTensorValue, to_dense with
defaults, sparse_to_dense, reduce_sum, dense matmul, and VarLenFeature parsing."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def test_sparse_tensor_ops():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [2])
        sp = tf.SparseTensor(indices=[[0, 0], [1, 2]], values=p, dense_shape=[3, 4])
        assert sp.shape.as_list() == [3, 4] and sp.dtype == tf.float32
        outs = [tf.sparse_tensor_to_dense(sp), tf.sparse.to_dense(sp, default_value=-1.0),
                tf.sparse_to_dense([1, 3], [5], [7, 8]), tf.sparse_to_dense([[0, 1]], [2, 2], 9, default_value=1),
                tf.sparse_reduce_sum(sp, axis=1), tf.sparse_tensor_dense_matmul(sp, np.ones((4, 2), np.float32)),
                tf.sparse.add(sp, tf.ones([3, 4]))]
        with tf.Session() as sess:
            value = sess.run(sp, {p: [1.0, 2.0]})
            d, dd, s1, s2, r, m, a = sess.run(outs, {p: [1.0, 2.0]})
        with pytest.raises(NotImplementedError):
            tf.sparse.add(sp, sp)
    assert type(value).__name__ == "SparseTensorValue"
    assert value.indices.tolist() == [[0, 0], [1, 2]] and value.dense_shape.tolist() == [3, 4]
    assert d.tolist() == [[1, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    assert dd.tolist() == [[1, -1, -1, -1], [-1, -1, 2, -1], [-1, -1, -1, -1]]
    assert s1.tolist() == [0, 7, 0, 8, 0] and s2.tolist() == [[1, 9], [1, 1]]
    assert r.tolist() == [1, 2, 0] and m.tolist() == [[1, 1], [2, 2], [0, 0]]
    assert a.tolist() == [[2, 1, 1, 1], [1, 1, 3, 1], [1, 1, 1, 1]]


def test_var_len_feature(tmp_path):
    path = str(tmp_path / "r.tfrecords")
    with tf.python_io.TFRecordWriter(path) as w:
        for i in range(3):
            ex = tf.train.Example(features=tf.train.Features(feature={
                "var": tf.train.Feature(int64_list=tf.train.Int64List(value=list(range(10, 10 + i))))}))
            w.write(ex.SerializeToString())
    with tf.Graph().as_default():
        ser = tf.placeholder(tf.string, [])
        parsed = tf.parse_single_example(ser, {"var": tf.VarLenFeature(tf.int64)})["var"]
        dense = tf.sparse_tensor_to_dense(parsed)
        with tf.Session() as sess:
            got = [sess.run([parsed, dense], {ser: r}) for r in tf.python_io.tf_record_iterator(path)]
    assert [g[0].values.tolist() for g in got] == [[], [10], [10, 11]]
    assert got[2][0].indices.tolist() == [[0], [1]] and got[2][0].dense_shape.tolist() == [2]
    assert got[2][1].tolist() == [10, 11]
