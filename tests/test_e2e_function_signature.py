"""tf.function input_signature mismatches raise TF 2.x's TypeError (still catchable as ValueError)."""
import numpy as np
import pytest

import fuseflow as tf


def test_signature_dtype_and_shape_mismatch_are_type_errors():
    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.int32)])
    def g(x):
        return tf.reduce_sum(x)

    assert int(g(tf.constant([1, 2, 3]))) == 6
    with pytest.raises(TypeError, match="Binding inputs to tf.function failed"):
        g(tf.constant([1.0]))
    with pytest.raises(ValueError):
        g(tf.constant([[1, 2]]))
    try:
        g(tf.constant([1.0]))
    except Exception as e:          # what a tutorial prints
        assert type(e).__name__ == "TypeError"
    assert int(g.get_concrete_function()(tf.constant([4, 5]))) == 9
