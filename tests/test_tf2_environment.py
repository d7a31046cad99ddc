"""tf.config / tf.device / tf.executing_eagerly / tf.debugging / tf.Module / tf.__version__ (TF2)."""
import numpy as np
import pytest

import fuseflow as tf


def test_version_and_devices():
    assert tf.__version__.startswith("2.")
    assert tf.config.list_physical_devices("GPU") == []
    cpus = tf.config.experimental.list_physical_devices("CPU")
    assert [d.device_type for d in cpus] == ["CPU"]
    for gpu in tf.config.experimental.list_physical_devices("GPU"):   # the usual tutorial preamble
        tf.config.experimental.set_memory_growth(gpu, True)
    with pytest.raises(ValueError):
        tf.config.experimental.set_memory_growth(cpus[0], True)
    with tf.device("/gpu:0"):
        assert int(tf.constant(1) + 1) == 2
    with pytest.raises(NotImplementedError, match="run_functions_eagerly"):
        tf.config.run_functions_eagerly(True)
    tf.config.run_functions_eagerly(False)


def test_executing_eagerly_inside_function():
    assert tf.executing_eagerly()

    seen = []

    @tf.function
    def f(x):
        seen.append(tf.executing_eagerly())
        return x * 2

    assert float(f(tf.constant(3.0))) == 6.0
    assert seen == [False]


def test_debugging_namespace():
    t = tf.constant([1.0, 2.0])
    tf.debugging.assert_equal(t, t)
    np.testing.assert_array_equal(tf.debugging.check_numerics(t, "ok").numpy(), [1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.debugging.assert_positive(tf.constant([-1.0]))


class _Dense(tf.Module):
    def __init__(self, i, o, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.ones([i, o]), name="w")
        self.b = tf.Variable(tf.zeros([o]), name="b", trainable=False)

    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


class _MLP(tf.Module):
    def __init__(self):
        super().__init__()
        self.layers = [_Dense(2, 3), _Dense(3, 1, name="out")]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_module_tracks_variables_and_submodules():
    m = _MLP()
    assert m.name == "_mlp"
    assert float(m(tf.ones([1, 2]))[0, 0]) == 6.0
    assert len(m.variables) == 4 and len(m.trainable_variables) == 2
    assert [s.name for s in m.submodules] == ["__dense", "out"]
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(m(tf.ones([1, 2])))
    assert [g.shape.as_list() for g in tape.gradient(y, m.trainable_variables)] == [[2, 3], [3, 1]]
    with pytest.raises(ValueError):
        tf.Module(name="not valid")
