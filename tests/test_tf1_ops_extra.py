"""TF1 top-level op names built from existing ops: hessians, py_function, invert_permutation,
reverse_sequence, clip_by_average_norm, space_to_depth/depth_to_space, diag/diag_part,
matrix_inverse/determinant (host LAPACK) and the tf.math aliases."""
import numpy as np
import pytest

import fuseflow.compat.v1 as tf


def run(build, feed=None):
    with tf.Graph().as_default():
        out = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return sess.run(out, feed)


def test_hessians():
    def build():
        v = tf.Variable([1.0, 2.0])
        m = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
        return tf.hessians(tf.reduce_sum(v ** 3) + tf.reduce_sum(m * m), [v, m])
    hv, hm = run(build)
    np.testing.assert_allclose(hv, np.diag([6.0, 12.0]))
    np.testing.assert_allclose(hm, 2 * np.eye(4).reshape(2, 2, 2, 2))


def test_small_ops():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    seq = np.arange(12).reshape(2, 6)
    a = np.array([[2.0, 1.0], [1.0, 4.0]], np.float32)
    got = run(lambda: [
        tf.invert_permutation([2, 0, 1, 3]),
        tf.reverse_sequence(seq, [3, 6], seq_axis=1, batch_axis=0),
        tf.reverse_sequence(seq.T, [2, 4], seq_dim=0, batch_dim=1),
        tf.clip_by_average_norm([3.0, 4.0], 1.0),
        tf.space_to_depth(x, 2),
        tf.depth_to_space(tf.space_to_depth(x, 2), 2),
        tf.diag([1, 2]), tf.diag_part([[1, 2], [3, 4]]),
        tf.matrix_inverse(a), tf.matrix_determinant(a),
        tf.confusion_matrix([0, 1, 1], [0, 1, 0]),
        tf.unsorted_segment_max([1, 5, 3, 4], [0, 0, 1, 1], 2),
        tf.py_function(lambda t: t.numpy() * 2 + 1, [tf.constant([1.0, 2.0])], tf.float32),
    ])
    ref_t = seq.T.copy()                                 # sequences along axis 0, batch along axis 1
    ref_t[:2, 0] = ref_t[:2, 0][::-1]
    ref_t[:4, 1] = ref_t[:4, 1][::-1]
    want = [[1, 2, 0, 3], [[2, 1, 0, 3, 4, 5], [11, 10, 9, 8, 7, 6]], ref_t, [1.2, 1.6], [[[[0, 1, 4, 5], [2, 3, 6, 7]], [[8, 9, 12, 13], [10, 11, 14, 15]]]], x,
            [[1, 0], [0, 2]], [1, 4], np.linalg.inv(a), 7.0, [[1, 0], [1, 1]], [5, 4], [3.0, 5.0]]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)
    assert got[0].dtype == np.int32


def test_matrix_inverse_singular_fails_at_run_time():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [2, 2])
        inv = tf.matrix_inverse(p)
        assert inv.shape.as_list() == [2, 2]
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="not invertible"):
                sess.run(inv, {p: np.zeros((2, 2), np.float32)})


def test_scatter_variants_on_variables():
    with tf.Graph().as_default():
        v = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
        ops = [tf.scatter_nd_update(v, [[0, 1], [2, 0]], [10.0, 20.0]), tf.scatter_nd_add(v, [[1]], [[1.0, 1.0]]),
               tf.scatter_mul(v, [0], [[2.0, 3.0]]), tf.scatter_max(v, [1, 2], [[0.0, 100.0], [0.0, 0.0]]),
               tf.scatter_div(v, [2], [[2.0, 2.0]]), tf.scatter_nd_sub(v, [[0, 0]], [1.0]),
               tf.scatter_min(v, [1], [[-5.0, 200.0]])]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = [sess.run(o).tolist() for o in ops]
    assert got[0] == [[0, 10], [2, 3], [20, 5]]
    assert got[1] == [[0, 10], [3, 4], [20, 5]]
    assert got[2] == [[0, 30], [3, 4], [20, 5]]
    assert got[3] == [[0, 30], [3, 100], [20, 5]]
    assert got[4] == [[0, 30], [3, 100], [10, 2.5]]
    assert got[5] == [[-1, 30], [3, 100], [10, 2.5]]
    assert got[6] == [[-1, 30], [-5, 100], [10, 2.5]]
