"""Training-step benchmarks: one compiled program per step vs the same step in numpy, op by op.

    python benchmarks/bench_training.py [--quick]

1. MLP 784-512-512-10 (ReLU, softmax cross-entropy, Adam), batch 256, TF1 graph + Session:
   `sess.run([train_op, loss])` is forward + backward + Adam update in one native call; the
   same step in TF2 style (tf.function + GradientTape + keras Adam) is reported next to it.
2. The seed's echo RNN (tf1_echo_rnn: 15 unrolled steps, state 4, batch 5, sparse softmax
   cross-entropy per step, Adagrad(0.3)), whose step is ~40 tiny matmuls: here per-op overhead,
   not FLOPs, is what a framework pays for. Like the seed, every step feeds a new batch and the
   carried state, and fetches the loss, the train op, the final state and the 15 predictions.

The numpy baselines do the same maths (forward, hand-written backward, the TF1 update rule)
in float32 with one numpy call per op. Reported: best-of-N step time, native calls per step
(counted on the runtime's Executable) and kernels per step (of the programs those calls ran).
Run on an otherwise idle machine: numbers under load are noise.
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import time

import numpy as np

# Compile times reported here are cold compiles: no persistent object cache (object_cache.py).
os.environ["FUSEFLOW_CACHE_DIR"] = "off"

# -- instrumentation: count native calls and the kernels of the programs they run ----------------
_calls = {"n": 0, "kernels": 0}
_kernels_of: dict = {}


def _instrument():
    from fuseflow.compiler import driver
    from fuseflow.runtime import Executable

    original_call = Executable.__call__

    def counting_call(self, *args, **kwargs):
        _calls["n"] += 1
        _calls["kernels"] += _kernels_of.get(id(self), 0)
        return original_call(self, *args, **kwargs)

    Executable.__call__ = counting_call
    original_compile = driver.compile_graph

    def recording_compile(*args, **kwargs):
        compiled = original_compile(*args, **kwargs)
        _kernels_of[id(compiled.executable)] = compiled.num_kernels
        compiled._call = compiled.executable.__call__
        return compiled

    driver.compile_graph = recording_compile


def best(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def per_step_counts(fn):
    n0, k0 = _calls["n"], _calls["kernels"]
    fn()
    return _calls["n"] - n0, _calls["kernels"] - k0


# -- 1. MLP + Adam ------------------------------------------------------------------------------
def mlp_fuseflow(tf, x, y, ws):
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [None, 784])
        yp = tf.placeholder(tf.float32, [None, 10])
        w1, w2, w3 = (tf.Variable(w) for w in ws[:3])
        b1, b2, b3 = (tf.Variable(b) for b in ws[3:])
        h1 = tf.nn.relu(tf.matmul(xp, w1) + b1)
        h2 = tf.nn.relu(tf.matmul(h1, w2) + b2)
        logits = tf.matmul(h2, w3) + b3
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=yp, logits=logits))
        train = tf.train.AdamOptimizer(1e-3).minimize(loss)
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
    feed = {xp: x, yp: y}
    return lambda: sess.run([train, loss], feed_dict=feed)


def mlp_fuseflow_tf2(x, y, ws):
    """The same step in TF2 style: tf.function + GradientTape + keras Adam (one native call)."""
    import fuseflow as tf2
    params = [tf2.Variable(w) for w in ws]
    opt = tf2.keras.optimizers.Adam(1e-3, epsilon=1e-8)   # TF1's epsilon, same update as the numpy step

    @tf2.function
    def step(xb, yb):
        w1, w2, w3, b1, b2, b3 = params
        with tf2.GradientTape() as tape:
            h1 = tf2.nn.relu(tf2.matmul(xb, w1) + b1)
            h2 = tf2.nn.relu(tf2.matmul(h1, w2) + b2)
            logits = tf2.matmul(h2, w3) + b3
            loss = tf2.reduce_mean(tf2.nn.softmax_cross_entropy_with_logits(labels=yb, logits=logits))
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss
    return lambda: step(x, y)


def mlp_numpy(x, y, ws):
    w1, w2, w3, b1, b2, b3 = [w.copy() for w in ws]
    params = [w1, w2, w3, b1, b2, b3]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    state = {"b1p": np.float32(0.9), "b2p": np.float32(0.999)}
    f32 = np.float32

    def step():
        a1 = x @ w1 + b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ w2 + b2
        h2 = np.maximum(a2, 0)
        z = h2 @ w3 + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.sum(y * np.log(p), axis=1))
        dz = (p - y) / f32(x.shape[0])
        gw3, gb3 = h2.T @ dz, dz.sum(axis=0)
        dh2 = (dz @ w3.T) * (a2 > 0)
        gw2, gb2 = h1.T @ dh2, dh2.sum(axis=0)
        dh1 = (dh2 @ w2.T) * (a1 > 0)
        gw1, gb1 = x.T @ dh1, dh1.sum(axis=0)
        alpha = f32(1e-3) * np.sqrt(f32(1) - state["b2p"]) / (f32(1) - state["b1p"])
        for i, g in enumerate((gw1, gw2, gw3, gb1, gb2, gb3)):
            m[i] += (g - m[i]) * f32(0.1)
            v[i] += (g * g - v[i]) * f32(0.001)
            params[i] -= m[i] * alpha / (np.sqrt(v[i]) + f32(1e-8))
        state["b1p"] *= f32(0.9)
        state["b2p"] *= f32(0.999)
        return loss
    return step


# -- 2. echo RNN + Adagrad ------------------------------------------------------------------------
T, STATE, BATCH, CLASSES = 15, 4, 5, 2


def rnn_batches(series_length=1500, seed=1):
    """The seed's data: an echo series (y = x shifted by 3) cut into batch_size rows and
    truncated_backprop_length windows; every step feeds a new (x, y) pair, like the seed."""
    rs = np.random.RandomState(seed)
    x = rs.choice(2, series_length)
    y = np.roll(x, 3)
    y[:3] = 0
    x, y = x.reshape(BATCH, -1).astype(np.float32), y.reshape(BATCH, -1).astype(np.int32)
    return [(np.ascontiguousarray(x[:, s:s + T]), np.ascontiguousarray(y[:, s:s + T]))
            for s in range(0, x.shape[1] - T + 1, T)]


def rnn_fuseflow(tf, batches, s0, ws):
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [BATCH, T])
        yp = tf.placeholder(tf.int32, [BATCH, T])
        sp = tf.placeholder(tf.float32, [BATCH, STATE])
        W, b, W2, b2 = (tf.Variable(w) for w in ws)
        state, losses, predictions = sp, [], []
        for xi, yi in zip(tf.unstack(xp, axis=1), tf.unstack(yp, axis=1)):
            xi = tf.reshape(xi, [BATCH, 1])
            state = tf.tanh(tf.matmul(tf.concat([xi, state], 1), W) + b)
            logits = tf.matmul(state, W2) + b2
            losses.append(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yi, logits=logits))
            predictions.append(tf.nn.softmax(logits))
        total = tf.reduce_mean(losses)
        train = tf.train.AdagradOptimizer(0.3).minimize(total)
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
    it = itertools.cycle(batches)
    carried = [s0]

    def step():   # the seed's loop body
        bx, by = next(it)
        loss, _, carried[0], preds = sess.run([total, train, state, predictions],
                                              feed_dict={xp: bx, yp: by, sp: carried[0]})
        return loss
    return step


def rnn_numpy(batches, s0, ws):
    W, b, W2, b2 = [w.copy() for w in ws]
    params = [W, b, W2, b2]
    acc = [np.full_like(p, 0.1) for p in params]
    f32 = np.float32
    onehot = np.eye(CLASSES, dtype=np.float32)
    it = itertools.cycle(batches)
    carried = [s0]

    def step():
        bx, by = next(it)
        states, inputs, probs = [carried[0]], [], []
        loss = f32(0)
        for t in range(T):
            inp = np.concatenate([bx[:, t:t + 1], states[-1]], axis=1)
            s = np.tanh(inp @ W + b)
            z = s @ W2 + b2
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            loss += -np.mean(np.log(p[np.arange(BATCH), by[:, t]]))
            inputs.append(inp)
            states.append(s)
            probs.append(p)
        gW, gb, gW2, gb2 = (np.zeros_like(p) for p in params)
        ds_next = np.zeros((BATCH, STATE), np.float32)
        scale = f32(1.0 / (T * BATCH))
        for t in reversed(range(T)):
            dz = (probs[t] - onehot[by[:, t]]) * scale
            gW2 += states[t + 1].T @ dz
            gb2 += dz.sum(axis=0, keepdims=True)
            ds = dz @ W2.T + ds_next
            da = ds * (1 - states[t + 1] ** 2)
            gW += inputs[t].T @ da
            gb += da.sum(axis=0, keepdims=True)
            ds_next = (da @ W.T)[:, 1:]
        for i, g in enumerate((gW, gb, gW2, gb2)):
            acc[i] += g * g
            params[i] -= g * f32(0.3) / np.sqrt(acc[i])
        carried[0] = states[-1]
        return loss / T, probs
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    _instrument()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import fuseflow.compat.v1 as tf
    rep = 5 if args.quick else 20
    rs = np.random.RandomState(0)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, numpy {np.__version__}")

    x = rs.rand(256, 784).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rs.randint(0, 10, 256)]
    ws = [(rs.randn(784, 512) * 0.05).astype(np.float32), (rs.randn(512, 512) * 0.05).astype(np.float32),
          (rs.randn(512, 10) * 0.05).astype(np.float32), np.zeros(512, np.float32), np.zeros(512, np.float32),
          np.zeros(10, np.float32)]
    t0 = time.perf_counter()                 # TF2 style first: eager execution is still on
    ff2 = mlp_fuseflow_tf2(x, y, ws)
    ff2()
    first2 = time.perf_counter() - t0
    calls2, kernels2 = per_step_counts(ff2)
    t_ff2 = best(ff2, rep)

    tf.disable_eager_execution()             # as the TF1 seeds do
    t0 = time.perf_counter()
    ff = mlp_fuseflow(tf, x, y, ws)
    ff()
    first = time.perf_counter() - t0
    calls, kernels = per_step_counts(ff)
    t_ff = best(ff, rep)
    t_np = best(mlp_numpy(x, y, ws), rep)
    print(f"MLP 784-512-512-10 Adam, batch 256: fuseflow {t_ff * 1e3:8.2f} ms/step  numpy {t_np * 1e3:8.2f} ms/step"
          f"  ({t_np / t_ff:4.2f}x)  native calls/step {calls}, kernels/step {kernels}, first step (compile) "
          f"{first:.1f} s")
    print(f"  same step, TF2 style (tf.function + GradientTape + keras Adam): fuseflow {t_ff2 * 1e3:8.2f} ms/step "
          f"({t_np / t_ff2:4.2f}x numpy)  native calls/step {calls2}, kernels/step {kernels2}, first step (compile) "
          f"{first2:.1f} s")

    drs = np.random.RandomState(1)
    batches = rnn_batches()
    s0 = np.zeros((BATCH, STATE), np.float32)
    wr = [drs.uniform(-0.5, 0.5, (STATE + 1, STATE)).astype(np.float32), np.zeros((1, STATE), np.float32),
          drs.uniform(-0.5, 0.5, (STATE, CLASSES)).astype(np.float32), np.zeros((1, CLASSES), np.float32)]
    t0 = time.perf_counter()
    ff = rnn_fuseflow(tf, batches, s0, wr)
    ff()
    first = time.perf_counter() - t0
    calls, kernels = per_step_counts(ff)
    t_ff = best(ff, rep * 10)
    t_np = best(rnn_numpy(batches, s0, wr), rep * 10)
    print(f"echo RNN (15 steps, state 4, batch 5) Adagrad: fuseflow {t_ff * 1e6:8.1f} us/step  numpy "
          f"{t_np * 1e6:8.1f} us/step  ({t_np / t_ff:4.2f}x)  native calls/step {calls}, kernels/step {kernels}, "
          f"first step (compile) {first:.1f} s")


if __name__ == "__main__":
    main()
