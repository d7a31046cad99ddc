"""Compiler-core benchmarks (issue: compiler core), each against numpy in the same run.

    python benchmarks/bench_core.py [--quick]

- elementwise chain y = gelu_tanh(1.5x + 0.25) * sigmoid(x) over 2^24 float32, vs numpy and vs
  the memory-bandwidth bound (a copy loop measured in the same run);
- softmax over 8192x1000 float32;
- compile time of a 50-op graph (trace + compile), and the cost of calling a tiny compiled graph.
matmul lives in bench_matmul.py. Run on an otherwise idle machine: numbers under load are noise.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

# Compile times reported here are cold compiles: no persistent object cache (object_cache.py).
os.environ["FUSEFLOW_CACHE_DIR"] = "off"


def best(fn, repeat=7, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def copy_bandwidth(n):
    """Bytes moved per second by the best copy we can do here (numpy's memcpy)."""
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    t = best(lambda: np.copyto(dst, src), repeat=9)
    return 2 * src.nbytes / t


def gelu_chain(tf, x):
    y = 1.5 * x + 0.25
    return 0.5 * y * (1.0 + tf.tanh(0.7978845608028654 * (y + 0.044715 * y * y * y))) * tf.sigmoid(x)


def numpy_chain(x):
    y = 1.5 * x + 0.25
    return 0.5 * y * (1.0 + np.tanh(0.7978845608028654 * (y + 0.044715 * y * y * y))) * (1.0 / (1.0 + np.exp(-x)))


def bench_elementwise(tf, n):
    x = np.random.RandomState(0).randn(n).astype(np.float32)
    f = tf.function(lambda v: gelu_chain(tf, v))
    compiled = f.lower(tf.TensorSpec([n], tf.float32)).compile()
    ours = best(lambda: compiled(x))
    ref = best(lambda: numpy_chain(x), repeat=3)
    bw = copy_bandwidth(n)
    bound = 2 * x.nbytes / bw
    err = float(np.max(np.abs(np.asarray(compiled(x)) - numpy_chain(x))))
    print(f"elementwise chain 2^{int(np.log2(n))} f32: fuseflow {ours*1e3:8.2f} ms | numpy {ref*1e3:8.2f} ms "
          f"({ref/ours:5.1f}x) | bandwidth bound {bound*1e3:6.2f} ms (copy {bw/1e9:5.1f} GB/s) -> "
          f"{ours/bound:4.2f}x of bound, {2*x.nbytes/ours/1e9:5.1f} GB/s | max err {err:.1e}")
    return dict(ours=ours, numpy=ref, bound=bound)


def bench_softmax(tf, rows, cols):
    x = np.random.RandomState(1).randn(rows, cols).astype(np.float32)
    f = tf.function(lambda v: tf.nn.softmax(v, axis=-1))
    compiled = f.lower(tf.TensorSpec([rows, cols], tf.float32)).compile()

    def numpy_softmax():
        z = np.exp(x - x.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    ours = best(lambda: compiled(x))
    ref = best(numpy_softmax, repeat=3)
    print(f"softmax {rows}x{cols} f32: fuseflow {ours*1e3:8.2f} ms | numpy {ref*1e3:8.2f} ms ({ref/ours:5.1f}x) | "
          f"{2*x.nbytes/ours/1e9:5.1f} GB/s effective | kernels {compiled.compiled_graph.num_kernels}")
    return dict(ours=ours, numpy=ref)


def bench_compile_and_call(tf):
    def fifty_ops(x, y):
        for i in range(25):
            x = tf.tanh(x * 1.01 + y) if i % 2 else tf.reduce_sum(x, axis=1, keepdims=True) + y
        return x

    spec = tf.TensorSpec([64, 64], tf.float32)
    t = time.perf_counter()
    f = tf.function(fifty_ops)
    f.lower(spec, spec).compile()
    compile_s = time.perf_counter() - t

    tiny = tf.function(lambda a, b: a * b + 1.0).lower(tf.TensorSpec([4], tf.float32), tf.TensorSpec([4], tf.float32)).compile()
    a = np.ones(4, np.float32)
    tiny(a, a)
    n = 20000
    t = time.perf_counter()
    for _ in range(n):
        tiny(a, a)
    call_us = (time.perf_counter() - t) / n * 1e6
    print(f"50-op graph trace+compile: {compile_s*1e3:7.1f} ms | tiny compiled call: {call_us:5.2f} us")
    return dict(compile=compile_s, call_us=call_us)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    import fuseflow as tf
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    bench_elementwise(tf, 1 << (20 if args.quick else 24))
    bench_softmax(tf, 1024 if args.quick else 8192, 1000)
    bench_compile_and_call(tf)


if __name__ == "__main__":
    main()
