"""Python/numpy operands of binary ops convert to the tensor operand's dtype by TF's rules: a
float never becomes an integer (`int_tensor + 2.0` is a TypeError, even for an integral 2.0),
ints go to any number type, only bools to bool, only strings to string. These are plain
TypeErrors raised before any kernel (TF raises them in Python), not InvalidArgumentErrors."""
import numpy as np
import pytest

import fuseflow as tf
import fuseflow.compat.v1 as v1


def _plain_type_error(fn, match):
    with pytest.raises(TypeError, match=match) as info:
        fn()
    assert not isinstance(info.value, tf.errors.InvalidArgumentError)
    assert type(info.value) is TypeError


def test_float_scalar_with_int_tensor_is_a_type_error():
    x = tf.constant([1, 2])
    _plain_type_error(lambda: x + 2.0, r"Cannot convert 2.0 to EagerTensor of dtype int32")
    _plain_type_error(lambda: 2.0 + x, r"Cannot convert 2.0 to EagerTensor of dtype int32")
    _plain_type_error(lambda: x * 0.5, "dtype int32")
    _plain_type_error(lambda: x ** 0.5, "dtype int32")
    _plain_type_error(lambda: x < 2.5, "dtype int32")
    _plain_type_error(lambda: tf.maximum(x, 0.0), "dtype int32")
    _plain_type_error(lambda: x + [1.0, 2.0], "dtype int32")
    _plain_type_error(lambda: x + np.float64(1.0), "dtype int32")
    _plain_type_error(lambda: tf.constant(5, tf.int64) * -0.5, "Cannot convert -0.5 to EagerTensor of dtype int64")
    _plain_type_error(lambda: tf.convert_to_tensor(0.0, tf.int32), "Cannot convert 0.0 to EagerTensor of dtype int32")


def test_allowed_mixes_keep_the_tensor_dtype():
    r = tf.constant([1, 2]) * 2
    assert r.dtype == tf.int32 and r.numpy().tolist() == [2, 4]
    r = tf.constant([1.5]) + 1
    assert r.dtype == tf.float32 and r.numpy().tolist() == [2.5]
    r = tf.constant(1, tf.int64) + 2 ** 40
    assert r.dtype == tf.int64 and int(r) == 2 ** 40 + 1
    r = tf.constant([1, 2]) + np.int64(3)
    assert r.dtype == tf.int32 and r.numpy().tolist() == [4, 5]
    r = tf.constant([1.0, 2.0]) + np.array([1, 2])
    assert r.dtype == tf.float32 and r.numpy().tolist() == [2.0, 4.0]
    r = tf.constant([1.0], tf.float64) * 0.1
    assert r.dtype == tf.float64
    r = tf.constant([True, False]) & True
    assert r.numpy().tolist() == [True, False]
    r = tf.constant([1, 2]) / 2                       # truediv of ints: float64, as TF
    assert r.dtype == tf.float64 and r.numpy().tolist() == [0.5, 1.0]


def test_bool_and_string_operands():
    _plain_type_error(lambda: tf.constant([True]) + 1, "Cannot convert 1 to EagerTensor of dtype bool")
    _plain_type_error(lambda: tf.logical_and(tf.constant([True]), 1), "dtype bool")
    _plain_type_error(lambda: tf.constant("a") + 1, "Cannot convert 1 to EagerTensor of dtype string")
    _plain_type_error(lambda: tf.constant([1, 2]) + "a", "Cannot convert 'a' to EagerTensor of dtype int32")
    assert (tf.constant("a") + "b").numpy() == b"ab"
    assert ("a" + tf.constant("b")).numpy() == b"ab"


def test_graph_mode_messages_name_the_python_type():
    with v1.Graph().as_default():
        x = v1.placeholder(tf.int32, [2])
        with pytest.raises(TypeError, match=r"Expected int32, but got 2.0 of type 'float'"):
            x + 2.0
        y = x * 2                                      # fine: int32
        assert y.dtype == tf.int32

    @tf.function
    def f(x):
        return x + 2.0

    with pytest.raises(TypeError, match="Expected int32"):
        f(tf.constant([1, 2]))


def test_dtype_size_is_bytes_per_element():
    assert [d.size for d in (tf.float16, tf.float32, tf.float64)] == [2, 4, 8]
    assert [d.size for d in (tf.int8, tf.int16, tf.int32, tf.int64)] == [1, 2, 4, 8]
    assert [d.size for d in (tf.uint8, tf.uint16, tf.uint32, tf.uint64)] == [1, 2, 4, 8]
    assert tf.bool.size == 1 and tf.string.size == 8


def test_constant_of_a_python_float_with_an_integer_dtype_is_a_type_error():
    _plain_type_error(lambda: tf.constant(2.0, tf.int32), "Cannot convert 2.0 to EagerTensor of dtype int32")
    _plain_type_error(lambda: tf.constant([1, 2.0], tf.int64), "dtype int64")
    assert tf.constant(1, tf.float32).numpy() == 1.0
    assert tf.constant(np.float64(3.0), tf.int32).numpy() == 3          # numpy data is cast
    with v1.Graph().as_default():
        with pytest.raises(TypeError, match=r"Expected int32, but got 2.0 of type 'float'"):
            v1.constant(2.0, tf.int32)


def test_variable_assign_converts_like_tf():
    v = tf.Variable([1, 2])
    _plain_type_error(lambda: v.assign([1.0, 2.0]), "dtype int32")
    w = tf.Variable([1.0, 2.0])
    w.assign_add([1, 1])                                                 # ints are fine for floats
    assert w.numpy().tolist() == [2.0, 3.0]


def test_empty_lists_convert_to_any_dtype():
    assert tf.constant([], tf.int64).dtype == tf.int64
    assert tf.convert_to_tensor([], tf.int32).shape == (0,)
    assert (tf.constant([1, 2])[:0] + []).dtype == tf.int32
