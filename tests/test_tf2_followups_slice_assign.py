"""`v[key].assign(value)`: TF's strided_slice_assign on a variable (eager, tf.function, TF1)."""
import numpy as np
import pytest

import fuseflow as tf
import fuseflow.compat.v1 as v1


def test_eager_slice_assign_writes_the_slice_and_returns_the_new_value():
    v = tf.Variable([1.0, 2.0, 3.0])
    out = v[1].assign(5.0)
    np.testing.assert_array_equal(out.numpy(), [1.0, 5.0, 3.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 5.0, 3.0])
    v[-1].assign(tf.constant(7.0))
    v[:1].assign([0.5])
    np.testing.assert_array_equal(v.numpy(), [0.5, 5.0, 7.0])
    assert v[1].numpy() == 5.0                       # indexing still reads


def test_eager_column_strided_and_ellipsis_assignments():
    m = tf.Variable(np.zeros((2, 3), np.float32))
    m[:, 0].assign([7.0, 8.0])
    m[1, 1:].assign(9.0)                             # a scalar fills the slice
    m[0, ::2].assign(tf.constant([1.0, 2.0]))
    m[..., 1].assign([3.0, 4.0])
    np.testing.assert_array_equal(m.numpy(), [[1.0, 3.0, 2.0], [8.0, 4.0, 9.0]])
    i = tf.constant(1)
    m[i].assign([0.0, 0.0, 0.0])                     # a scalar tensor index
    np.testing.assert_array_equal(m.numpy()[1], [0.0, 0.0, 0.0])


def test_slice_assign_checks_dtype_and_shape():
    v = tf.Variable([1, 2, 3])
    with pytest.raises(TypeError, match="Cannot convert 2.5 to EagerTensor of dtype int32"):
        v[0].assign(2.5)
    with pytest.raises(ValueError, match="does not match"):
        v[0:2].assign([1, 2, 3])
    with pytest.raises(TypeError, match="valid indices"):
        v[[0, 1]].assign([1, 2])


def test_slice_assign_inside_function_compiles_and_orders_with_other_writes():
    m = tf.Variable(np.zeros((2, 3), np.float32))

    @tf.function
    def f(x):
        m.assign_add(tf.ones([2, 3]))
        m[0, ::2].assign(x)
        return m.read_value()

    np.testing.assert_array_equal(f(tf.constant([4.0, 6.0])).numpy(), [[4.0, 1.0, 6.0], [1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(f(tf.constant([0.0, 0.0])).numpy(), [[0.0, 2.0, 0.0], [2.0, 2.0, 2.0]])
    assert f.experimental_get_tracing_count() == 1
    f.get_concrete_function(tf.constant([1.0, 1.0]))          # compiled, no fallback


def test_slice_assign_at_a_runtime_index_runs_eagerly_in_function():
    v = tf.Variable([0, 0, 0])

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def put(i):
        v[i].assign(9)
        return v.read_value()

    with pytest.warns(RuntimeWarning, match="index is only known when the graph runs"):
        np.testing.assert_array_equal(put(tf.constant(2)).numpy(), [0, 0, 9])
    np.testing.assert_array_equal(put(tf.constant(0)).numpy(), [9, 0, 9])


def test_slice_assign_in_a_tf1_graph():
    with v1.Graph().as_default():
        v = v1.Variable([[1.0, 2.0], [3.0, 4.0]])
        a = v[0].assign([9.0, 8.0])
        b = v[:, 1].assign(v1.constant([0.0, 0.0]))
        with v1.Session() as s:
            s.run(v1.global_variables_initializer())
            np.testing.assert_array_equal(s.run(a), [[9.0, 8.0], [3.0, 4.0]])
            np.testing.assert_array_equal(s.run(b), [[9.0, 0.0], [3.0, 0.0]])
            np.testing.assert_array_equal(s.run(v), [[9.0, 0.0], [3.0, 0.0]])


def test_slices_have_no_assign_add_like_tf():
    v = tf.Variable([1.0, 2.0])
    assert not hasattr(v[0], "assign_add")           # TF attaches only `assign` to variable slices
