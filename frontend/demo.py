"""`fuseflow demo`: what the compiler does, in one minute.

1. A fused elementwise chain (gelu_tanh(1.5x + 0.25) * sigmoid(x)) compiled to one native
   kernel, its speed against numpy, and the kernel it became.
2. The seed tutorials' softmax regression (then an MLP) trained on scikit-learn's bundled
   8x8 digits, TF1 style: every `sess.run(train_step)` is one compiled native call doing
   forward, backward and the optimizer update.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def _best_time(fn, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def fused_chain_demo(n: int = 1 << 22) -> None:
    import fuseflow as tf

    def chain(x):
        y = 1.5 * x + 0.25
        gelu = 0.5 * y * (1.0 + tf.tanh(0.7978845608028654 * (y + 0.044715 * y * y * y)))
        return gelu * tf.sigmoid(x)

    f = tf.function(chain)
    x = np.random.RandomState(0).randn(n).astype(np.float32)
    f(x)  # trace + compile

    def numpy_chain():
        y = 1.5 * x + 0.25
        g = 0.5 * y * (1.0 + np.tanh(0.7978845608028654 * (y + 0.044715 * y * y * y)))
        return g * (1.0 / (1.0 + np.exp(-x)))

    ours = _best_time(lambda: f(x))
    ref = _best_time(numpy_chain)
    err = float(np.max(np.abs(np.asarray(f(x)) - numpy_chain())))
    print(f"== fused elementwise chain over {n} floats")
    print(f"   fuseflow {ours * 1e3:7.2f} ms   numpy {ref * 1e3:7.2f} ms   speedup {ref / ours:5.1f}x   "
          f"max abs diff {err:.2e}")
    lowered = f.lower(tf.TensorSpec([None], tf.float32))
    print("   the whole chain is one kernel:")
    text = lowered.as_text("kernels")
    print("\n".join("     " + line for line in text.splitlines()[:24]))


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # the demo's data ships with scikit-learn
        raise SystemExit("fuseflow demo needs scikit-learn for its bundled digits data: "
                         "pip install 'fuseflow[demo]'") from e
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[d.target]
    perm = np.random.RandomState(0).permutation(len(x))
    x, y = x[perm], y[perm]
    split = int(0.8 * len(x))
    return x[:split], y[:split], x[split:], y[split:]


def training_demo(steps: int = 300, hidden: int = 64) -> None:
    import fuseflow.compat.v1 as tf

    xtr, ytr, xte, yte = _digits()
    rs = np.random.RandomState(1)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 64], name="x")
        y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
        w1 = tf.Variable(rs.randn(64, hidden).astype(np.float32) * 0.1, name="w1")
        b1 = tf.Variable(np.zeros(hidden, np.float32), name="b1")
        w2 = tf.Variable(rs.randn(hidden, 10).astype(np.float32) * 0.1, name="w2")
        b2 = tf.Variable(np.zeros(10, np.float32), name="b2")
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        logits = tf.matmul(h, w2) + b2
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
        train = tf.train.AdamOptimizer(0.01).minimize(loss)
        correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            print(f"== MLP 64-{hidden}-10 on sklearn digits ({len(xtr)} train / {len(xte)} test), Adam(0.01), "
                  f"full-batch steps")
            t0 = time.perf_counter()
            sess.run([train, loss], feed_dict={x: xtr, y_: ytr})  # compiles the training step once
            compile_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for step in range(1, steps + 1):
                _, l = sess.run([train, loss], feed_dict={x: xtr, y_: ytr})
                if step % 50 == 0 or step == 1:
                    print(f"   step {step:4d}  loss {l:.4f}")
            per_step = (time.perf_counter() - t0) / steps
            acc = sess.run(accuracy, feed_dict={x: xte, y_: yte})
            print(f"   test accuracy {acc:.3f}   compile {compile_s * 1e3:.0f} ms   "
                  f"{per_step * 1e6:.0f} us per training step (one native call)")
    _numpy_step_time(xtr, ytr, hidden, per_step)


def _numpy_step_time(x, y, hidden, ours_per_step):
    """The same step written in numpy op by op (forward, backward, Adam), for scale."""
    rs = np.random.RandomState(1)
    params = [rs.randn(64, hidden).astype(np.float32) * 0.1, np.zeros(hidden, np.float32),
              rs.randn(hidden, 10).astype(np.float32) * 0.1, np.zeros(10, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]

    def step(t):
        w1, b1, w2, b2 = params
        a = x @ w1 + b1
        h = np.maximum(a, 0)
        z = h @ w2 + b2
        z = z - z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        dz = (p - y) / len(x)
        grads = [None, None, h.T @ dz, dz.sum(0)]
        dh = dz @ w2.T * (a > 0)
        grads[0], grads[1] = x.T @ dh, dh.sum(0)
        lr = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for i, g in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] -= lr * m[i] / (np.sqrt(v[i]) + 1e-8)

    reps = 50
    t0 = time.perf_counter()
    for t in range(1, reps + 1):
        step(t)
    per = (time.perf_counter() - t0) / reps
    print(f"   numpy op-by-op: {per * 1e6:.0f} us per step  ->  fuseflow is {per / ours_per_step:.1f}x faster")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fuseflow demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skip-chain", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_chain:
        fused_chain_demo()
        print()
    training_demo(steps=args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
