"""Code generator and runtime benchmarks.

    python benchmarks/bench_codegen.py [--quick]

- compile time of a 50-op graph (graph build + passes + fusion + lowering + LLVM + load), with
  the codegen split into Python text generation and LLVM (parse, verify, O3, object);
- the cost of calling a tiny compiled graph (end to end, Python call to returned list);
- inline math throughput vs numpy, 1 and 2 threads, and a float row-sum reduction.
Run on an otherwise idle machine: numbers under load are noise.
"""
from __future__ import annotations

import argparse
import time
import timeit

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler import loopir as L
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.codegen.llvm import generate
from fuseflow.compiler.driver import compile_graph
from fuseflow.compiler.ir import Graph
from fuseflow.compiler.shapes import SymDim
from fuseflow.runtime import Executable


def best(fn, repeat=7):
    fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def fifty_op_graph():
    g = Graph()
    em = Emitter(g)
    x = em.parameter(index=0, shape=(32, 64), dtype=dt.float32)
    w = em.parameter(index=1, shape=(64,), dtype=dt.float32)
    g.graph["inputs"] += [x.node, w.node]
    y = x
    outs = []
    for k in range(10):  # 5 ops per round
        y = em.mul(y, w)
        y = em.add(y, em.scalar_like(0.5, y))
        y = em.tanh(y)
        y = em.sub(y, em.sigmoid(x))
        if k % 3 == 2:
            outs.append(em.reduce_sum(y, axes=(1,), keepdims=False))
    g.graph["outputs"] = [y] + outs
    return g


def bench_compile():
    times, parts = [], None
    for _ in range(5):
        t = time.perf_counter()
        g = fifty_op_graph()
        c = compile_graph(g)
        times.append(time.perf_counter() - t)
        parts = (c.timings, c.codegen.timings, len(c.program.kernels))
    timings, cg, nk = parts
    print(f"50-op graph -> {nk} kernels: total {min(times)*1e3:.1f} ms (best of 5) | passes "
          f"{timings['passes']*1e3:.1f} ms, fuse+lower {timings['fuse_lower']*1e3:.1f} ms, codegen "
          f"{timings['codegen']*1e3:.1f} ms (text {cg['generate']*1e3:.1f} + llvm {cg['llvm']*1e3:.1f}), "
          f"load {timings['load']*1e3:.1f} ms")


def _elementwise_exe(op, d=dt.float32, threads=None):
    n = SymDim.symbol("n")
    i = L.Var("i")
    bufs = {"x": L.Buffer("x", d, (n,), "input"), "y": L.Buffer("y", d, (n,), "input"),
            "z": L.Buffer("z", d, (n,), "output")}
    xi, yi = L.Load("x", i, d), L.Load("y", i, d)
    value = L.Binary("add", xi, yi) if op == "add" else L.Unary(op, xi, d)
    body = [L.Loop("i", L.SizeOf(n), [L.Store("z", i, value)], "parallel")]
    prog = L.Program(op, bufs, [L.Kernel("k", body, ["x", "y"], ["z"])], ["x", "y"], ["z"], ["n"])
    res = generate(prog)
    return Executable(res.object, res.signature, num_threads=threads)


def bench_call_overhead():
    exe = _elementwise_exe("add")
    a = np.ones(4, np.float32)
    exe(a, a)
    n = 100_000
    per = min(timeit.repeat(lambda: exe(a, a), number=n, repeat=5)) / n
    np_per = min(timeit.repeat(lambda: np.add(a, a), number=n, repeat=5)) / n
    print(f"tiny graph call (2 inputs f32[4] -> 1 output): {per*1e6:.2f} us per call (numpy add: {np_per*1e6:.2f} us)")


NUMPY = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
         "sin": np.sin, "erf": None}


def bench_math(n):
    x = np.random.default_rng(0).uniform(0.1, 5, n).astype(np.float32)
    for op in ("exp", "log", "tanh", "sigmoid", "erf", "sin"):
        row = []
        for threads in (1, 2):
            exe = _elementwise_exe(op, threads=threads)
            row.append(best(lambda: exe(x, x)))
        ref = NUMPY[op]
        np_t = best(lambda: ref(x), repeat=3) if ref else float("nan")
        print(f"{op:8s} 2^{int(np.log2(n))} f32: 1 thread {row[0]*1e3:7.2f} ms ({n/row[0]/1e9:5.2f} Gelem/s), "
              f"2 threads {row[1]*1e3:7.2f} ms | numpy {np_t*1e3:7.2f} ms ({np_t/row[0]:5.1f}x)")


def bench_rowsum(rows, cols):
    R, C = SymDim.symbol("r"), SymDim.symbol("c")
    i, j = L.Var("i"), L.Var("j")
    acc = L.Var("acc", dt.float32)
    bufs = {"x": L.Buffer("x", dt.float32, (R, C), "input"), "z": L.Buffer("z", dt.float32, (R,), "output")}
    body = [L.Loop("i", L.SizeOf(R), [
        L.Declare("acc", L.Const(0.0, dt.float32)),
        L.Loop("j", L.SizeOf(C), [L.Assign("acc", L.Binary("add", acc, L.Load("x", i * L.SizeOf(C) + j, dt.float32)))],
               "reduce"),
        L.Store("z", i, acc)], "parallel")]
    res = generate(L.Program("rowsum", bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["r", "c"]))
    x = np.random.default_rng(1).standard_normal((rows, cols)).astype(np.float32)
    for threads in (1, 2):
        exe = Executable(res.object, res.signature, num_threads=threads)
        t = best(lambda: exe(x))
        print(f"row sum {rows}x{cols} f32, {threads} thread(s): {t*1e3:.2f} ms ({x.nbytes/t/1e9:.1f} GB/s) | "
              f"numpy {best(lambda: x.sum(1), repeat=3)*1e3:.2f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    bench_compile()
    bench_call_overhead()
    bench_math(1 << (20 if args.quick else 23))
    bench_rowsum(1024, 4096 if args.quick else 16384)


if __name__ == "__main__":
    main()
