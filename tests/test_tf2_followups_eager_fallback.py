"""Constructs fuseflow cannot compile run eagerly inside tf.function (TF compiles them; users
expect results): each raises NeedsEagerExecution while tracing, the call runs op by op with a
RuntimeWarning naming the construct, and get_concrete_function / lower still refuse."""
import warnings

import numpy as np
import pytest

import fuseflow as tf
from fuseflow.needs_eager import NeedsEagerExecution


def _call_warns(f, *args, match):
    with pytest.warns(RuntimeWarning, match=match):
        return f(*args)


def test_py_function_inside_function_runs_eagerly():
    @tf.function
    def f(x):
        y = tf.py_function(lambda v: v * 3, [x], tf.float32)
        return y + 1.0

    assert float(_call_warns(f, tf.constant(2.0), match="tf.py_function")) == 7.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # later calls with this signature: no new warning
        assert float(f(tf.constant(3.0))) == 10.0
    with pytest.raises(NotImplementedError, match="py_function"):
        f.get_concrete_function(tf.constant(2.0))


def test_numpy_function_inside_function_runs_eagerly():
    @tf.function
    def f(x):
        return tf.numpy_function(lambda a: np.sort(a), [x], tf.float32)

    out = _call_warns(f, tf.constant([3.0, 1.0, 2.0]), match="tf.numpy_function")
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0, 3.0])
    with pytest.raises(NeedsEagerExecution, match="numpy_function"):
        f.lower(tf.constant([1.0]))


def test_numpy_function_still_a_host_op_in_tf1_graphs():
    import fuseflow.compat.v1 as v1
    with v1.Graph().as_default():
        x = v1.placeholder(tf.float32, [None])
        y = v1.numpy_function(lambda a: a * 2, [x], tf.float32)
        with v1.Session() as s:
            np.testing.assert_array_equal(s.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])


def test_while_loop_with_runtime_condition_runs_eagerly():
    @tf.function
    def collatz_steps(n):
        def body(i, n):
            return i + 1, tf.where(n % 2 == 0, n // 2, 3 * n + 1)
        steps, _ = tf.while_loop(lambda i, n: n > 1, body, [tf.constant(0), n])
        return steps

    assert int(_call_warns(collatz_steps, tf.constant(6), match="tf.while_loop")) == 8
    assert int(collatz_steps(tf.constant(27))) == 111
    with pytest.raises(NotImplementedError, match="loop condition depends on values only known"):
        collatz_steps.get_concrete_function(tf.constant(6))


def test_while_loop_with_static_trip_count_still_compiles():
    @tf.function
    def f(x):
        return tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2.0), [0, x])[1]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(f(tf.constant(1.5))) == 12.0
    f.get_concrete_function(tf.constant(1.5))


def test_while_loop_runtime_condition_in_tf1_graph_still_refused():
    import fuseflow.compat.v1 as v1
    with v1.Graph().as_default():
        x = v1.placeholder(tf.int32, [])
        with pytest.raises(NotImplementedError, match="loop condition"):
            v1.while_loop(lambda x: x < 10, lambda x: x + 1, [x])


def test_generator_draws_inside_function_run_eagerly_and_advance():
    g = tf.random.Generator.from_seed(7)

    @tf.function
    def draw():
        return g.normal([3])

    a = _call_warns(draw, match="Generator.normal")
    b = draw()
    assert a.shape == (3,) and a.numpy().tolist() != b.numpy().tolist()


def test_host_linalg_and_data_dependent_ops_inside_function():
    @tf.function
    def f(m, x):
        inv = tf.linalg.inv(m)
        pos = tf.boolean_mask(x, x > 0)
        uniq, _ = tf.unique(tf.cast(x, tf.int32))
        return inv, pos, uniq

    m = tf.constant([[2.0, 0.0], [0.0, 4.0]])
    x = tf.constant([1.0, -1.0, 1.0, 3.0])
    inv, pos, uniq = _call_warns(f, m, x, match="tf.linalg.inv")
    np.testing.assert_allclose(inv.numpy(), [[0.5, 0.0], [0.0, 0.25]])
    np.testing.assert_array_equal(pos.numpy(), [1.0, 1.0, 3.0])
    np.testing.assert_array_equal(uniq.numpy(), [1, -1, 3])


def test_map_fn_over_unknown_length_inside_function():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(x):
        return tf.map_fn(lambda v: v * v, x)

    np.testing.assert_array_equal(_call_warns(f, tf.constant([1.0, 2.0, 3.0]), match="tf.map_fn").numpy(),
                                  [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(f(tf.constant([4.0])).numpy(), [16.0])


def test_fallback_keeps_variable_updates_and_tape():
    v = tf.Variable(1.0)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            y = tf.py_function(lambda a: a, [x], tf.float32) * v
        g = tape.gradient(y, v)
        v.assign_add(g)
        return y

    assert float(_call_warns(step, tf.constant(2.0), match="py_function")) == 2.0
    assert float(v.numpy()) == 3.0


def test_python_bool_fallback_message_unchanged():
    @tf.function
    def f(x):
        if tf.reduce_sum(x) > 0:
            return x
        return -x

    with pytest.warns(RuntimeWarning, match="tensor's value in Python control flow"):
        assert f(tf.constant([-1.0])).numpy().tolist() == [1.0]
    with pytest.raises(TypeError, match="cannot be traced"):
        f.get_concrete_function(tf.constant([1.0]))


def test_strings_format_inside_function_runs_eagerly():
    @tf.function
    def f(x):
        return tf.strings.format("x={}", [x])

    assert _call_warns(f, tf.constant(3), match="tf.strings.format").numpy() == b"x=3"


def test_boolean_mask_is_differentiable_eagerly_and_in_a_fallback_train_step():
    x = tf.Variable([[1.0, -2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.boolean_mask(x, x > 0) ** 2)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [[2.0, 0.0], [6.0, 8.0]])

    def masked_mse(y_true, y_pred):
        keep = y_true >= 0
        return tf.reduce_mean(tf.square(tf.boolean_mask(y_true, keep) - tf.boolean_mask(y_pred, keep)))

    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss=masked_mse)
    rng = np.random.default_rng(0)
    xs, ys = rng.random((16, 3), dtype=np.float32), rng.random((16, 1), dtype=np.float32)
    before = [w.copy() for w in model.get_weights()]
    with pytest.warns(RuntimeWarning, match="tf.boolean_mask"):
        history = model.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_tensor_array_reads_at_run_time_indices_compile_writes_run_eagerly():
    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def pick(i):                          # reads: a gather from the stacked array, compiled
        ta = tf.TensorArray(tf.float32, size=3)
        ta = ta.unstack(tf.constant([10.0, 20.0, 30.0]))
        return ta.read(i) + ta.gather(tf.stack([i, 0]))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(pick(tf.constant(2)).numpy(), [60.0, 40.0])
    np.testing.assert_array_equal(pick(tf.constant(1)).numpy(), [40.0, 30.0])

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def put(i):                           # a write at a run-time index cannot be compiled
        ta = tf.TensorArray(tf.float32, size=3)
        return ta.write(i, 5.0).stack()

    np.testing.assert_array_equal(_call_warns(put, tf.constant(1), match="TensorArray.write").numpy(), [0, 5, 0])
