"""tf.custom_gradient: grad_fn is the gradient rule on the eager tape; inside tf.function the
call makes the function run op by op (compiled gradients cannot call Python)."""
import numpy as np
import pytest

import fuseflow as tf


@tf.custom_gradient
def log1pexp(x):
    e = tf.exp(x)

    def grad(dy):
        return dy * (1 - 1 / (1 + e))
    return tf.math.log(1 + e), grad


@tf.custom_gradient
def clip_gradient_norm(x):
    def grad(dy):
        return tf.clip_by_norm(dy, 0.5)
    return tf.identity(x), grad


def test_numerically_stable_gradient_from_the_tf_docs():
    x = tf.constant(100.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    assert float(tape.gradient(y, x)) == 1.0             # the autodiff gradient would be NaN
    np.testing.assert_allclose(float(log1pexp(tf.constant(0.0))), np.log(2.0), rtol=1e-6)


def test_grad_fn_is_applied_between_recorded_ops_and_summed_with_other_paths():
    v = tf.Variable([3.0, 4.0])
    with tf.GradientTape() as tape:
        z = tf.reduce_sum(clip_gradient_norm(v * 2.0) * 10.0) + tf.reduce_sum(v)
    # dy = [10, 10] clipped to norm 0.5, times d(2v)/dv = 2, plus 1 from the direct path
    np.testing.assert_allclose(tape.gradient(z, v).numpy(), [1.0 + 2 * 0.5 / np.sqrt(2)] * 2, rtol=1e-6)


def test_nested_custom_calls_and_a_source_that_is_the_input():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = clip_gradient_norm(clip_gradient_norm(x) * 3.0)
        loss = tf.reduce_sum(y * 100.0)
        direct = tf.reduce_sum(clip_gradient_norm(x))
    # [100, 100] clipped to norm 0.5, times 3 (norm 1.5), clipped to norm 0.5 again
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [0.5 / np.sqrt(2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(direct, x).numpy(), [0.5 / np.sqrt(2)] * 2, rtol=1e-6)


def test_grad_fn_with_variables():
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def scaled(x):
        def grad(dy, variables=None):
            return dy * 0.0, [dy * 7.0 for _ in variables]  # deliberately not the true gradient
        return x * w, grad

    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = scaled(x)
    gx, gw = tape.gradient(y, [x, w])
    assert float(y) == 6.0 and float(gx) == 0.0 and float(gw) == 7.0


def test_variables_need_a_variables_keyword():
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def bad(x):
        return x * w, lambda dy: dy

    with tf.GradientTape():
        with pytest.raises(TypeError, match="keyword argument 'variables'"):
            bad(tf.constant(1.0))


def test_custom_gradient_inside_function_runs_eagerly():
    v = tf.Variable([3.0, 4.0])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(clip_gradient_norm(v) * 10.0)
        return tape.gradient(loss, v)

    with pytest.warns(RuntimeWarning, match="custom_gradient"):
        g = step()
    np.testing.assert_allclose(g.numpy(), [0.5 / np.sqrt(2)] * 2, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="custom_gradient"):
        step.get_concrete_function()
