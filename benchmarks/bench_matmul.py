"""GFLOP/s of the generated GEMM kernel (compiler/codegen/matmul.py) vs numpy's OpenBLAS.

    python benchmarks/bench_matmul.py [--sizes 1024 2048] [--dtype float32] [--reps 5] [--layout nn]

Our kernel is JIT-compiled alone (MCJIT) and called through ctypes from 1 or 2 Python threads
(ctypes releases the GIL; each thread passes its tid). BLAS runs in a subprocess with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (those pins make OpenBLAS pick a
slower kernel on this machine) and OPENBLAS_NUM_THREADS set to the thread count. Every number is the
best of `--reps` runs: the machine is shared, so the best run is the least disturbed one.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import threading
import time

import llvmlite.binding as llvm
import numpy as np

from fuseflow.compiler import dtypes
from fuseflow.compiler.codegen.matmul import gemm_tiling, matmul_declarations, matmul_function_ir

_ARGS = ("ptr %A, ptr %B, ptr %C, i64 %batch, i64 %M, i64 %N, i64 %K, i64 %sab, i64 %sam, i64 %sak, "
         "i64 %sbb, i64 %sbk, i64 %sbn, i64 %tid, i64 %nthreads, ptr %ctx")
_CFUNC = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * 3 + [ctypes.c_int64] * 12 + [ctypes.c_void_p]))

_BLAS_SCRIPT = r"""
import json, sys, time
import numpy as np
n, dtype, reps, layout = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n)).astype(dtype)
b = rng.standard_normal((n, n)).astype(dtype)
a = a.T if layout[0] == "t" else a
b = b.T if layout[1] == "t" else b
a @ b
best = float("inf")
for _ in range(reps):
    t0 = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t0)
print(json.dumps(2 * n ** 3 / best / 1e9))
"""


def compile_kernel(dtype):
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    tm = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3)
    text = (matmul_declarations() + matmul_function_ir("bench_mm", dtype, None)
            + f"define void @entry({_ARGS}) {{\n  call void @bench_mm({_ARGS})\n  ret void\n}}\n")
    mod = llvm.parse_assembly(text)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=3))
    pb.getModulePassManager().run(mod, pb)
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    engine.add_object_file(llvm.ObjectFileRef.from_data(tm.emit_object(mod)))
    engine.finalize_object()
    return engine, _CFUNC(engine.get_function_address("entry"))


def time_ours(fn, a, b, c, nthreads, reps):
    n = a.shape[0]
    sa = [s // a.itemsize for s in a.strides]
    sb = [s // b.itemsize for s in b.strides]
    args = [(a.ctypes.data, b.ctypes.data, c.ctypes.data, 1, n, n, n, 0, *sa, 0, *sb, tid, nthreads, None)
            for tid in range(nthreads)]
    best = float("inf")
    for _ in range(reps):
        threads = [threading.Thread(target=fn, args=arg) for arg in args]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def time_blas(n, dtype, nthreads, reps, layout):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS=str(nthreads), OMP_NUM_THREADS=str(nthreads))
    out = subprocess.run([sys.executable, "-c", _BLAS_SCRIPT, str(n), dtype, str(reps), layout],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--layout", default="nn", choices=["nn", "nt", "tn", "tt"],
                    help="t = operand stored transposed (swapped strides)")
    args = ap.parse_args(argv)

    _engine, fn = compile_kernel(dtypes.as_dtype(args.dtype))
    tl = gemm_tiling(dtypes.as_dtype(args.dtype))
    print(f"{args.dtype} {args.layout}: MR x NR = {tl.mr} x {tl.nr}, KC={tl.kc}, MC={tl.mc}, NC={tl.nc}; "
          f"best of {args.reps}")
    print(f"{'size':>6} {'threads':>7} {'ours GFLOP/s':>13} {'BLAS GFLOP/s':>13} {'ours/BLAS':>10}")
    rng = np.random.default_rng(0)
    for n in args.sizes:
        a = rng.standard_normal((n, n)).astype(args.dtype)
        b = rng.standard_normal((n, n)).astype(args.dtype)
        a = np.ascontiguousarray(a.T).T if args.layout[0] == "t" else a
        b = np.ascontiguousarray(b.T).T if args.layout[1] == "t" else b
        c = np.empty((n, n), args.dtype)
        time_ours(fn, a, b, c, 1, 1)  # warm-up (page faults of c)
        err = np.abs(c - a @ b).max() / max(np.abs(a @ b).max(), 1)
        if err > (1e-4 if args.dtype == "float32" else 1e-10):
            raise SystemExit(f"wrong result at n={n}: relative error {err:.3g}")
        for nthreads in args.threads:
            ours = time_ours(fn, a, b, c, nthreads, args.reps)
            blas = time_blas(n, args.dtype, nthreads, args.reps, args.layout)
            print(f"{n:>6} {nthreads:>7} {ours:>13.1f} {blas:>13.1f} {ours / blas:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
