"""Optimizer steps vs numpy transcriptions of TF's update rules (TF1 kernels, Keras 3 formulas).

Each case minimises ||A w - b||^2 for several steps and compares the variable and its slots
after every step. The numpy versions compute in float32 in the kernels' order, so the
tolerances are tight (a few float32 ulps per step)."""
import numpy as np
import pytest

import fuseflow as tf2
import fuseflow.compat.v1 as tf

A = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32)
B = np.array([[1.0], [2.0], [-1.0]], np.float32)
W0 = np.array([[0.5], [-0.5]], np.float32)
STEPS = 6
f32 = np.float32


def grad_np(w):
    return (f32(2) * A.T @ (A @ w - B)).astype(np.float32)


# ----------------------------------------------------------------------------- numpy TF1 rules
def np_sgd(lr):
    def step(w, s, t):
        return w - grad_np(w) * f32(lr), s
    return step, {}


def np_momentum(lr, mom, nesterov=False):
    def step(w, s, t):
        g = grad_np(w)
        s["momentum"] = s["momentum"] * f32(mom) + g
        if nesterov:
            return w - (g * f32(lr) + s["momentum"] * f32(mom) * f32(lr)), s
        return w - s["momentum"] * f32(lr), s
    return step, {"momentum": np.zeros_like(W0)}


def np_adagrad(lr, init=0.1):
    def step(w, s, t):
        g = grad_np(w)
        s["accumulator"] = s["accumulator"] + g * g
        return w - g * f32(lr) * (f32(1) / np.sqrt(s["accumulator"])), s
    return step, {"accumulator": np.full_like(W0, init)}


def np_rmsprop(lr, decay=0.9, mom=0.0, eps=1e-10, centered=False):
    def step(w, s, t):
        g = grad_np(w)
        one_minus = f32(1) - f32(decay)
        s["rms"] = s["rms"] + (g * g - s["rms"]) * one_minus
        if centered:
            s["mg"] = s["mg"] + (g - s["mg"]) * one_minus
            denom = s["rms"] - s["mg"] * s["mg"] + f32(eps)
        else:
            denom = s["rms"] + f32(eps)
        s["momentum"] = s["momentum"] * f32(mom) + g * f32(lr) / np.sqrt(denom)
        return w - s["momentum"], s
    slots = {"rms": np.ones_like(W0), "momentum": np.zeros_like(W0)}
    if centered:
        slots["mg"] = np.zeros_like(W0)
    return step, slots


def np_adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    def step(w, s, t):
        g = grad_np(w)
        b1p, b2p = s["beta1_power"], s["beta2_power"]     # accumulated by multiplication, as TF1 does
        alpha = f32(lr) * np.sqrt(f32(1) - b2p) / (f32(1) - b1p)
        s["m"] = s["m"] + (g - s["m"]) * (f32(1) - f32(b1))
        s["v"] = s["v"] + (g * g - s["v"]) * (f32(1) - f32(b2))
        s["beta1_power"], s["beta2_power"] = b1p * f32(b1), b2p * f32(b2)
        return w - s["m"] * alpha / (np.sqrt(s["v"]) + f32(eps)), s
    return step, {"m": np.zeros_like(W0), "v": np.zeros_like(W0), "beta1_power": f32(b1), "beta2_power": f32(b2)}


def np_adadelta(lr, rho=0.95, eps=1e-8):
    def step(w, s, t):
        g = grad_np(w)
        one_minus = f32(1) - f32(rho)
        s["accum"] = s["accum"] * f32(rho) + g * g * one_minus
        update = np.sqrt(s["accum_update"] + f32(eps)) * (f32(1) / np.sqrt(s["accum"] + f32(eps))) * g
        s["accum_update"] = s["accum_update"] * f32(rho) + update * update * one_minus
        return w - update * f32(lr), s
    return step, {"accum": np.zeros_like(W0), "accum_update": np.zeros_like(W0)}


def run_np(rule, steps=STEPS):
    step, slots = rule
    w = W0.copy()
    traj = []
    for t in range(1, steps + 1):
        w, slots = step(w, slots, t)
        w = w.astype(np.float32)
        traj.append((w.copy(), {k: v.copy() for k, v in slots.items()}))
    return traj


def run_tf1(make_opt, slot_names, steps=STEPS):
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.square(tf.matmul(A, w) - B))
        opt = make_opt()
        train = opt.minimize(loss)
        traj = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train)
                traj.append((sess.run(w), {s: sess.run(opt.get_slot(w, s)) for s in slot_names}))
        return traj, opt


TF1_CASES = [
    ("sgd", lambda: tf.train.GradientDescentOptimizer(0.01), np_sgd(0.01), []),
    ("momentum", lambda: tf.train.MomentumOptimizer(0.01, 0.9), np_momentum(0.01, 0.9), ["momentum"]),
    ("nesterov", lambda: tf.train.MomentumOptimizer(0.01, 0.9, use_nesterov=True), np_momentum(0.01, 0.9, True),
     ["momentum"]),
    ("adagrad", lambda: tf.train.AdagradOptimizer(0.3), np_adagrad(0.3), ["accumulator"]),
    ("rmsprop", lambda: tf.train.RMSPropOptimizer(0.01), np_rmsprop(0.01), ["rms", "momentum"]),
    ("rmsprop_momentum", lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5), np_rmsprop(0.01, mom=0.5),
     ["rms", "momentum"]),
    ("rmsprop_centered", lambda: tf.train.RMSPropOptimizer(0.01, centered=True), np_rmsprop(0.01, centered=True),
     ["rms", "mg", "momentum"]),
    ("adam", lambda: tf.train.AdamOptimizer(0.1), np_adam(0.1), ["m", "v"]),
    ("adadelta", lambda: tf.train.AdadeltaOptimizer(1.0), np_adadelta(1.0), ["accum", "accum_update"]),
]


@pytest.mark.parametrize("name,make,rule,slots", TF1_CASES, ids=[c[0] for c in TF1_CASES])
def test_tf1_optimizer_matches_numpy(name, make, rule, slots):
    got, opt = run_tf1(make, slots)
    want = run_np(rule)
    for (gw, gs), (ww, ws) in zip(got, want):
        np.testing.assert_allclose(gw, ww, rtol=2e-6, atol=1e-7)
        for s in slots:
            np.testing.assert_allclose(gs[s], ws[s], rtol=2e-6, atol=1e-7)
    assert sorted(opt.get_slot_names()) == sorted(slots)


def test_tf1_slot_and_accumulator_names():
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.square(tf.matmul(A, w) - B))
        opt = tf.train.AdamOptimizer(0.1)
        train = opt.minimize(loss)
        names = sorted(v.name for v in tf.global_variables())
        assert names == ["beta1_power:0", "beta2_power:0", "w/Adam:0", "w/Adam_1:0", "w:0"]
        assert opt.get_slot(w, "m").name == "w/Adam:0"
        assert [v.name for v in tf.trainable_variables()] == ["w:0"]
        assert train.name == "Adam"


def test_tf1_initial_slot_values():
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.square(w))
        ada = tf.train.AdagradOptimizer(0.1)
        rms = tf.train.RMSPropOptimizer(0.1)
        ops = [ada.minimize(loss), rms.minimize(loss)]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(ada.get_slot(w, "accumulator")), np.full_like(W0, 0.1))
            np.testing.assert_array_equal(sess.run(rms.get_slot(w, "rms")), np.ones_like(W0))
            np.testing.assert_array_equal(sess.run(rms.get_slot(w, "momentum")), np.zeros_like(W0))
            assert ops[0] is not None


def test_global_step_and_lr_placeholder_and_var_list():
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        frozen = tf.Variable([[2.0]], name="frozen")
        loss = tf.reduce_sum(tf.square(tf.matmul(A, w) * frozen - B))
        lr = tf.placeholder(tf.float32, [])
        gs = tf.train.get_or_create_global_step()
        assert tf.train.get_or_create_global_step() is gs
        step = tf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=gs, var_list=[w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step, feed_dict={lr: 0.01})
            sess.run(step, feed_dict={lr: 0.001})
            assert sess.run(gs) == 2
            assert gs.name == "global_step:0"
            np.testing.assert_array_equal(sess.run(frozen), [[2.0]])
            w_np = W0.copy()
            for rate in (0.01, 0.001):
                g = (2 * 2 * A.T @ (2 * A @ w_np - B)).astype(np.float32)
                w_np = w_np - g * np.float32(rate)
            np.testing.assert_allclose(sess.run(w), w_np, rtol=1e-5)


def test_compute_apply_gradients_with_clipping():
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.square(tf.matmul(A, w) - B))
        opt = tf.train.GradientDescentOptimizer(0.1)
        gvs = opt.compute_gradients(loss)
        assert [v.name for _, v in gvs] == ["w:0"]
        capped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in gvs]
        train = opt.apply_gradients(capped)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(gvs[0][0]), grad_np(W0), rtol=1e-6)
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), W0 - 0.1 * np.clip(grad_np(W0), -1, 1), rtol=1e-6)


def test_minimize_without_gradients_raises():
    with tf.Graph().as_default():
        w = tf.Variable(1.0)
        other = tf.Variable(2.0)
        with pytest.raises(ValueError, match="No gradients provided"):
            tf.train.GradientDescentOptimizer(0.1).minimize(other * 2.0, var_list=[w])


# ----------------------------------------------------------------------------- schedules, EMA
def test_exponential_decay_table():
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        cont = tf.train.exponential_decay(0.1, step, 10, 0.96, staircase=False)
        stair = tf.train.exponential_decay(0.1, step, 10, 0.96, staircase=True)
        with tf.Session() as sess:
            for s in (0, 1, 9, 10, 11, 25, 100):
                c, st = sess.run([cont, stair], feed_dict={step: s})
                np.testing.assert_allclose(c, f32(0.1) * f32(0.96) ** (f32(s) / f32(10)), rtol=1e-6)
                np.testing.assert_allclose(st, f32(0.1) * f32(0.96) ** np.floor(f32(s) / f32(10)), rtol=1e-6)


def test_piecewise_polynomial_inverse_time():
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int32, [])
        pw = tf.train.piecewise_constant(step, [10, 20], [1.0, 0.5, 0.1])
        poly = tf.train.polynomial_decay(0.1, step, 100, end_learning_rate=0.01, power=2.0)
        inv = tf.train.inverse_time_decay(0.1, step, 10, 0.5, staircase=True)
        with tf.Session() as sess:
            for s, want in ((0, 1.0), (10, 1.0), (11, 0.5), (20, 0.5), (21, 0.1)):
                assert sess.run(pw, feed_dict={step: s}) == pytest.approx(want)
            for s in (0, 50, 100, 150):
                p = min(s, 100) / 100
                assert sess.run(poly, feed_dict={step: s}) == pytest.approx((0.1 - 0.01) * (1 - p) ** 2 + 0.01, rel=1e-5)
                assert sess.run(inv, feed_dict={step: s}) == pytest.approx(0.1 / (1 + 0.5 * (s // 10)), rel=1e-6)


def test_exponential_moving_average_with_num_updates():
    with tf.Graph().as_default():
        v = tf.Variable(0.0, name="v")
        step = tf.Variable(0, trainable=False)
        ema = tf.train.ExponentialMovingAverage(0.99, step)
        maintain = ema.apply([v])
        assert ema.average_name(v) == "v/ExponentialMovingAverage"
        assert ema.average(v).name == "v/ExponentialMovingAverage:0"
        assert set(ema.variables_to_restore()) >= {"v/ExponentialMovingAverage", "Variable"}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            shadow, n = 0.0, 0
            for value, n in ((5.0, 0), (5.0, 10000), (10.0, 10000)):
                sess.run(tf.assign(v, value))
                sess.run(tf.assign(step, n))
                sess.run(maintain)
                decay = min(0.99, (1 + n) / (10 + n))
                shadow = shadow - (shadow - value) * (1 - decay)
                assert sess.run(ema.average(v)) == pytest.approx(shadow, rel=1e-6)


# ----------------------------------------------------------------------------- Keras 3
def np_keras(kind, **kw):
    """Keras 3 update rules; Python-float constants round once to float32, as in Keras."""
    def step(w, s, t, g):
        lr = f32(kw.get("lr"))
        if kind == "sgd":
            mom = kw.get("momentum", 0.0)
            if mom:
                s["m"] = s["m"] * f32(mom) - g * lr
                if kw.get("nesterov"):
                    return w + (s["m"] * f32(mom) - g * lr)
                return w + s["m"]
            return w - g * lr
        if kind == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-7
            b1p, b2p = f32(b1) ** f32(t), f32(b2) ** f32(t)
            alpha = lr * np.sqrt(f32(1) - b2p) / (f32(1) - b1p)
            s["m"] = s["m"] + (g - s["m"]) * f32(1 - b1)
            s["v"] = s["v"] + (g * g - s["v"]) * f32(1 - b2)
            return w - s["m"] * alpha / (np.sqrt(s["v"]) + f32(eps))
        if kind == "rmsprop":
            rho, eps, mom = 0.9, 1e-7, kw.get("momentum", 0.0)
            s["vel"] = f32(rho) * s["vel"] + f32(1 - rho) * g * g
            if kw.get("centered"):
                s["avg"] = f32(rho) * s["avg"] + f32(1 - rho) * g
                denom = s["vel"] - s["avg"] * s["avg"] + f32(eps)
            else:
                denom = s["vel"] + f32(eps)
            inc = lr * g / np.sqrt(denom)
            if mom:
                s["mom"] = f32(mom) * s["mom"] + inc
                return w - s["mom"]
            return w - inc
        if kind == "adadelta":
            rho, eps = 0.95, f32(1e-7)
            s["ag"] = f32(rho) * s["ag"] + f32(1 - rho) * g * g
            delta = -(np.sqrt(s["adx"] + eps) * g / np.sqrt(s["ag"] + eps))
            s["adx"] = f32(rho) * s["adx"] + f32(1 - rho) * delta * delta
            return w + lr * delta
        if kind == "adagrad":
            s["acc"] = s["acc"] + g * g
            return w - lr * g / np.sqrt(s["acc"] + f32(1e-7))
        raise ValueError(kind)
    slots = {k: np.zeros_like(W0) for k in ("m", "v", "vel", "avg", "mom", "ag", "adx")}
    slots["acc"] = np.full_like(W0, 0.1)
    return step, slots


KERAS_CASES = [
    ("sgd", lambda: tf2.keras.optimizers.SGD(0.01), dict(lr=0.01)),
    ("sgd_momentum", lambda: tf2.keras.optimizers.SGD(0.01, momentum=0.9), dict(lr=0.01, momentum=0.9)),
    ("sgd_nesterov", lambda: tf2.keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
     dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("adam", lambda: tf2.keras.optimizers.Adam(0.1), dict(lr=0.1)),
    ("rmsprop", lambda: tf2.keras.optimizers.RMSprop(0.01), dict(lr=0.01)),
    ("rmsprop_momentum_centered", lambda: tf2.keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
     dict(lr=0.01, momentum=0.5, centered=True)),
    ("adagrad", lambda: tf2.keras.optimizers.Adagrad(0.3), dict(lr=0.3)),
    ("adadelta", lambda: tf2.keras.optimizers.Adadelta(1.0), dict(lr=1.0)),
]


@pytest.mark.parametrize("name,make,kw", KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_keras_optimizer_matches_numpy(name, make, kw):
    kind = name.split("_")[0]
    step, slots = np_keras(kind, **kw)
    w = tf2.Variable(W0)
    opt = make()
    w_np = W0.copy()
    for t in range(1, STEPS + 1):
        g = grad_np(w.numpy())
        opt.apply_gradients([(tf2.constant(g), w)])
        w_np = step(w_np, slots, t, grad_np(w_np)).astype(np.float32)
        np.testing.assert_allclose(w.numpy(), w_np, rtol=2e-6, atol=1e-7)
    assert int(opt.iterations) == STEPS


def test_keras_schedule_and_iterations():
    sched = tf2.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    opt = tf2.keras.optimizers.SGD(sched)
    w = tf2.Variable([1.0])
    for t in range(5):
        lr = 0.1 * 0.5 ** (t // 2)
        before = w.numpy().copy()
        opt.apply_gradients([(tf2.constant([1.0]), w)])
        np.testing.assert_allclose(before - w.numpy(), [lr], rtol=1e-6)
    assert int(opt.iterations) == 5


def test_keras_none_gradients_are_skipped_with_warning():
    opt = tf2.keras.optimizers.SGD(0.1)
    a, b = tf2.Variable([1.0]), tf2.Variable([2.0])
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tf2.constant([1.0]), a), (None, b)])
    np.testing.assert_allclose(a.numpy(), [0.9])
    np.testing.assert_allclose(b.numpy(), [2.0])
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(None, b)])


def test_keras_clipnorm_and_clipvalue():
    for kw, want in (({"clipnorm": 1.0}, [0.6, 0.8]), ({"clipvalue": 0.5}, [0.5, 0.5])):
        w = tf2.Variable([0.0, 0.0])
        tf2.keras.optimizers.SGD(1.0, **kw).apply_gradients([(tf2.constant([3.0, 4.0]), w)])
        np.testing.assert_allclose(-w.numpy(), want, rtol=1e-6)


# ----------------------------------------------------------------------------- other entry points
def test_custom_tf1_optimizer_subclass():
    class AccumulatingSGD(tf.train.Optimizer):
        def __init__(self, lr):
            super().__init__(False, "AccumulatingSGD")
            self.lr = lr

        def _create_slots(self, var_list):
            for v in var_list:
                self._zeros_slot(v, "acc", self._name)

        def _apply_dense(self, grad, var):
            acc = tf.assign_add(self.get_slot(var, "acc"), grad)
            return tf.assign_sub(var, self.lr * acc)

    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0], name="w")
        train = AccumulatingSGD(0.1).minimize(tf.reduce_sum(w * w))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), [0.44, 0.88], rtol=1e-6)


def test_tf1_optimizer_eager_callable_loss_and_inside_function():
    w = tf2.Variable(W0)

    def loss():
        return tf2.reduce_sum(tf2.square(tf2.matmul(A, w) - B))

    opt = tf.train.AdamOptimizer(0.1)
    opt.minimize(loss)                                   # eager: differentiated with a tape
    step, slots = np_adam(0.1)
    want = [W0]
    for t in range(1, 4):
        want.append(step(want[-1], slots, t)[0].astype(np.float32))
    np.testing.assert_allclose(w.numpy(), want[1], rtol=2e-6)

    @tf2.function
    def train_step():
        opt.minimize(loss)                               # traced: one compiled program per call
    train_step()
    train_step()
    np.testing.assert_allclose(w.numpy(), want[3], rtol=2e-6)


def test_regularizers():
    from fuseflow import regularizers as layers       # TF1's tf.contrib.layers regularizers
    weights = np.array([[1.0, -2.0], [-3.0, 4.0]], np.float32)
    with tf.Graph().as_default():
        w = tf.constant(weights)
        l1 = layers.l1_regularizer(0.5)(w)
        l2 = layers.l2_regularizer(0.5)(w)
        both = layers.l1_l2_regularizer(0.5, 0.5)(w)
        total = layers.apply_regularization(layers.l2_regularizer(0.5), [w, w])
        with tf.Session() as sess:
            assert sess.run([l1, l2, both, total]) == pytest.approx([5.0, 7.5, 12.5, 15.0])
        assert tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES) == [total]
    with pytest.raises(ValueError, match="integer"):
        layers.l2_regularizer(1)
    assert layers.l2_regularizer(0.0)(weights) is None
    assert not hasattr(tf, "contrib")                  # gone from TF 2's compat.v1
