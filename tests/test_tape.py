"""GradientTape: eager recording, replay as one compiled gradient program, TF2 semantics."""
import numpy as np
import pytest

import fuseflow as tf
from fuseflow import tape as tape_mod


def close(a, b, rtol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-6)


def test_variable_is_watched_automatically():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x ** 2
    close(tape.gradient(y, x), 6.0)


def test_watch_constant_and_unwatched_is_none():
    c = tf.constant([1.0, 2.0, 3.0])
    d = tf.constant([1.0, 1.0, 1.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(c)
        y = tf.reduce_sum(tf.exp(c) * c * d)
    close(tape.gradient(y, c), np.exp([1.0, 2.0, 3.0]) * (1 + np.array([1.0, 2.0, 3.0])))
    assert tape.gradient(y, d) is None


def test_non_persistent_tape_second_call_raises():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)


def test_persistent_lists_dicts_and_unconnected():
    w = tf.Variable([[1.0, -1.0], [0.5, 2.0]])
    b = tf.Variable([0.1, -0.2])
    u = tf.Variable(5.0)
    x = np.array([[1.0, 2.0]], np.float32)
    with tf.GradientTape(persistent=True) as tape:
        h = tf.nn.relu(tf.matmul(tf.constant(x), w) + b)
        loss = tf.reduce_sum(tf.square(h - 1.0))
        loss2 = tf.reduce_sum(h) * 3.0
    gw, gb, gu = tape.gradient(loss, [w, b, u])
    hv = np.maximum(x @ w.numpy() + b.numpy(), 0)
    dh = 2 * (hv - 1) * (hv > 0)
    close(gw, x.T @ dh)
    close(gb, dh[0])
    assert gu is None
    grads = tape.gradient(loss2, {"w": w, "u": u})
    close(grads["w"], x.T @ (3.0 * (hv > 0)))
    assert grads["u"] is None
    zero = tape.gradient(loss, u, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    close(zero, 0.0)


def test_higher_order_nested_tapes():
    x = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x ** 3
        dy = inner.gradient(y, x)
    close(dy, 27.0)
    close(outer.gradient(dy, x), 18.0)


def test_stop_gradient_and_stop_recording():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = tf.stop_gradient(x * 2.0) * x
    close(tape.gradient(y, x), 6.0)
    with tf.GradientTape() as tape:
        a = x * x
        with tape.stop_recording():
            b = x * x
        y = a + b
    close(tape.gradient(y, x), 6.0)


def test_watch_accessed_variables_false():
    a, b = tf.Variable(2.0), tf.Variable(5.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    close(ga, 5.0)
    assert gb is None
    assert [v is a for v in tape.watched_variables()] == [True]


def test_output_gradients_and_multiple_targets():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y1 = x * 3.0
        y2 = tf.reduce_sum(x * x)
    close(tape.gradient(y1, x, output_gradients=tf.constant([1.0, 10.0])), [3.0, 30.0])
    close(tape.gradient([y1, y2], x), [3.0 + 2.0, 3.0 + 4.0])


def test_gradient_wrt_intermediate_tensor():
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        h = x * x
        y = h * 3.0 + x
    gh, gx = tape.gradient(y, [h, x])
    close(gh, 3.0)
    close(gx, 3.0 * 4.0 + 1.0)


def test_jacobian():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = x * x
    close(tape.jacobian(y, x), np.diag([2.0, 4.0, 6.0]))


def test_compiled_gradient_program_is_reused():
    w = tf.Variable([1.0, 2.0])
    data = [np.array([1.0, 2.0], np.float32), np.array([3.0, -1.0], np.float32)]
    before = None
    for d in data * 2:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w * d - 1.0))
        g = tape.gradient(loss, w)
        close(g, 2 * (w.numpy() * d - 1) * d)
        if before is None:
            before = len(tape_mod._cache)
    assert len(tape_mod._cache) == before


def test_tape_inside_function_emits_graph_gradient():
    w = tf.Variable([1.0, -2.0])

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w * x))
        return tape.gradient(loss, w)

    x = np.array([2.0, 3.0], np.float32)
    close(step(tf.constant(x)), 2 * w.numpy() * x * x)


def test_training_loop_with_keras_sgd_converges():
    rs = np.random.RandomState(0)
    xs = np.linspace(-1, 1, 50).astype(np.float32)
    ys = (2 * xs + 0.3 + rs.randn(50) * 0.01).astype(np.float32)
    w, b = tf.Variable([0.0]), tf.Variable([0.0])
    opt = tf.keras.optimizers.SGD(0.5)
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(ys - (xs * w + b)))
        opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
    close(w.numpy(), [2.0], rtol=2e-2)
    close(b.numpy(), [0.3], rtol=5e-2)


def test_scalar_that_changes_every_step_compiles_at_most_twice():
    w = tf.Variable([1.0, 2.0])
    start = len(tape_mod._cache)
    for step in range(5):
        scale = tf.constant(float(step + 1))
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w * w) * scale
        close(tape.gradient(loss, w), 2 * w.numpy() * (step + 1))
    assert len(tape_mod._cache) - start <= 2


def test_ops_of_other_threads_are_not_recorded():
    import threading
    x = tf.Variable(2.0)
    box = {}
    with tf.GradientTape() as tape:
        y = x * 3.0
        t = threading.Thread(target=lambda: box.setdefault("z", y * 100.0))
        t.start()
        t.join()
        z = y + box["z"]           # box["z"] is a constant to this tape
    close(tape.gradient(z, x), 3.0)
