"""tf.data additions: take_while, shard, interleave (TF's cycle order), and tf.py_function in map."""
import pytest

import fuseflow as tf

D = tf.data.Dataset


def test_take_while_and_shard():
    assert [int(x) for x in D.range(10).take_while(lambda x: x < 3)] == [0, 1, 2]
    assert [int(x) for x in D.range(7).shard(3, 1)] == [1, 4]
    with pytest.raises(ValueError):
        D.range(3).shard(2, 2)


def test_interleave_follows_tf_cycle_order():
    # the example from TF's documentation of Dataset.interleave
    out = [int(x) for x in D.range(1, 6).interleave(lambda x: D.from_tensors(x).repeat(6), cycle_length=2,
                                                    block_length=4)]
    assert out == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4, 5, 5, 5, 5, 5, 5]
    # an exhausted slot is emptied and refilled only when the cycle comes back to it
    out = [int(x) for x in D.range(1, 4).interleave(lambda x: D.from_tensors(x).repeat(x), cycle_length=2)]
    assert out == [1, 2, 2, 3, 3, 3]


def test_py_function_in_map_and_eager_in_function():
    assert [int(x) for x in D.range(3).map(lambda x: tf.py_function(lambda v: v * 2, [x], tf.int64))] == [0, 2, 4]
    assert float(tf.py_function(lambda a, b: a + b, [tf.constant(1.0), tf.constant(2.0)], tf.float32)) == 3.0

    @tf.function
    def f(x):
        return tf.py_function(lambda v: v * 3, [x], tf.float32)

    with pytest.warns(RuntimeWarning, match="py_function"):      # runs op by op (not compilable)
        assert float(f(tf.constant(2.0))) == 6.0
