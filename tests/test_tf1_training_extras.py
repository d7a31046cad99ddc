"""TF1 optimizers and learning-rate schedules beyond the seed programs' set: proximal
gradient descent / Adagrad, FTRL, and the decay schedules at exact step boundaries.
References are float64 numpy transcriptions of TF's kernels (training_ops.cc)."""
import math

import numpy as np
import pytest

import fuseflow.compat.v1 as tf

A = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32)
B = np.array([[1.0], [2.0], [-1.0]], np.float32)
W0 = np.array([[0.5], [-0.5]], np.float32)
STEPS = 5


def grad_np(w):
    return 2 * A.T.astype(np.float64) @ (A @ w - B)


def run_tf(make_opt):
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.square(tf.matmul(A, w) - B))
        step = tf.train.get_or_create_global_step()
        opt = make_opt()
        train = opt.minimize(loss, global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(STEPS):
                sess.run(train)
            return sess.run(w), sess.run(step), opt


def np_proximal_gd(lr, l1, l2):
    w = W0.astype(np.float64)
    for _ in range(STEPS):
        prox = w - lr * grad_np(w)
        w = np.sign(prox) * np.maximum(np.abs(prox) - lr * l1, 0) / (1 + lr * l2)
    return w


def np_proximal_adagrad(lr, init, l1, l2):
    w = W0.astype(np.float64)
    acc = np.full_like(w, init)
    for _ in range(STEPS):
        g = grad_np(w)
        acc = acc + g * g
        step = lr / np.sqrt(acc)
        prox = w - g * step
        w = np.sign(prox) * np.maximum(np.abs(prox) - step * l1, 0) / (1 + step * l2)
    return w


def np_ftrl(lr, power, init, l1, l2, shrinkage=0.0):
    w = W0.astype(np.float64)
    acc = np.full_like(w, init)
    lin = np.zeros_like(w)
    for _ in range(STEPS):
        g = grad_np(w)
        new_acc = acc + g * g
        lin = lin + g + 2 * shrinkage * w - (new_acc ** -power - acc ** -power) / lr * w
        quad = new_acc ** -power / lr + 2 * l2
        w = np.where(np.abs(lin) > l1, (np.sign(lin) * l1 - lin) / quad, 0.0)
        acc = new_acc
    return w


@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.1, 0.2), (0.0, 0.5)])
def test_proximal_gradient_descent(l1, l2):
    got, step, _ = run_tf(lambda: tf.train.ProximalGradientDescentOptimizer(
        0.01, l1_regularization_strength=l1, l2_regularization_strength=l2))
    np.testing.assert_allclose(got, np_proximal_gd(0.01, l1, l2), rtol=1e-5, atol=1e-6)
    assert step == STEPS


def test_proximal_adagrad_slot_and_update():
    got, _, opt = run_tf(lambda: tf.train.ProximalAdagradOptimizer(
        0.1, l1_regularization_strength=0.05, l2_regularization_strength=0.1))
    np.testing.assert_allclose(got, np_proximal_adagrad(0.1, 0.1, 0.05, 0.1), rtol=1e-5, atol=1e-6)
    assert opt.get_slot_names() == ["accumulator"]


@pytest.mark.parametrize("args", [(0.1, -0.5, 0.1, 0.0, 0.0), (0.1, -0.5, 0.1, 0.5, 0.2),
                                  (0.2, -0.3, 0.5, 0.01, 0.1)])
def test_ftrl(args):
    lr, power, init, l1, l2 = args
    got, _, opt = run_tf(lambda: tf.train.FtrlOptimizer(
        lr, learning_rate_power=power, initial_accumulator_value=init,
        l1_regularization_strength=l1, l2_regularization_strength=l2))
    np.testing.assert_allclose(got, np_ftrl(*args), rtol=1e-4, atol=1e-6)
    assert opt.get_slot_names() == ["accum", "linear"]


def test_ftrl_l2_shrinkage():
    got, _, _ = run_tf(lambda: tf.train.FtrlOptimizer(0.1, l2_shrinkage_regularization_strength=0.3))
    np.testing.assert_allclose(got, np_ftrl(0.1, -0.5, 0.1, 0.0, 0.0, 0.3), rtol=1e-4, atol=1e-6)


def test_ftrl_rejects_positive_power():
    with pytest.raises(ValueError):
        tf.train.FtrlOptimizer(0.1, learning_rate_power=0.5)


def sgdr(step, lr=0.1, first=10, t_mul=2.0, m_mul=1.0, alpha=0.0):
    """cosine_decay_restarts in float64 (TF's formula)."""
    frac = step / first
    if t_mul == 1.0:
        i = math.floor(frac)
        frac -= i
    else:
        i = math.floor(math.log(1 - frac * (1 - t_mul)) / math.log(t_mul))
        frac = (frac - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
    cosine = 0.5 * m_mul ** i * (1 + math.cos(math.pi * frac))
    return lr * ((1 - alpha) * cosine + alpha)


SCHEDULES = {
    "exp_staircase_41": (lambda g: tf.train.exponential_decay(0.1, g, 41, 0.5, staircase=True),
                         lambda s: 0.1 * 0.5 ** (s // 41)),
    "natural_exp_staircase_41": (lambda g: tf.train.natural_exp_decay(0.1, g, 41, 0.5, staircase=True),
                                 lambda s: 0.1 * math.exp(-0.5 * (s // 41))),
    "inverse_time_staircase_47": (lambda g: tf.train.inverse_time_decay(0.1, g, 47, 0.5, staircase=True),
                                  lambda s: 0.1 / (1 + 0.5 * (s // 47))),
    # past decay_steps the step is clamped: (1 - 1)^0.5 must be exactly 0, not NaN
    "polynomial_sqrt": (lambda g: tf.train.polynomial_decay(0.1, g, 30, 0.01, power=0.5),
                        lambda s: (0.1 - 0.01) * (1 - min(s, 30) / 30) ** 0.5 + 0.01),
    "polynomial_cycle": (lambda g: tf.train.polynomial_decay(0.1, g, 41, 0.01, power=2.0, cycle=True),
                         lambda s: (0.1 - 0.01) * (1 - s / (41 * max(1, math.ceil(s / 41)))) ** 2 + 0.01),
    "cosine_alpha": (lambda g: tf.train.cosine_decay(0.1, g, 30, alpha=0.1),
                     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 30) / 30)) + 0.1)),
    "cosine_restarts": (lambda g: tf.train.cosine_decay_restarts(0.1, g, 10), lambda s: sgdr(s)),
    "cosine_restarts_flat": (lambda g: tf.train.cosine_decay_restarts(0.1, g, 10, t_mul=1.0, m_mul=0.5, alpha=0.1),
                             lambda s: sgdr(s, t_mul=1.0, m_mul=0.5, alpha=0.1)),
    "linear_cosine": (lambda g: tf.train.linear_cosine_decay(0.1, g, 30, num_periods=2, alpha=0.1),
                      lambda s: 0.1 * ((0.1 + (30 - min(s, 30)) / 30) * 0.5 * (1 + math.cos(math.pi * 4 * min(s, 30) / 30))
                                       + 0.001)),
    "piecewise": (lambda g: tf.train.piecewise_constant(g, [10, 20], [1.0, 0.5, 0.1]),
                  lambda s: 1.0 if s <= 10 else (0.5 if s <= 20 else 0.1)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_at_boundaries(name):
    make, ref = SCHEDULES[name]
    steps = [0, 1, 10, 29, 30, 31, 40, 41, 47, 82, 94, 123]
    g = tf.Graph()
    with g.as_default():
        gs = tf.placeholder(tf.int32, [])
        lr = make(gs)
        assert lr.dtype == tf.float32
        with tf.Session() as sess:
            got = [sess.run(lr, {gs: s}) for s in steps]
    np.testing.assert_allclose(got, [ref(s) for s in steps], rtol=2e-6, atol=1e-8)
