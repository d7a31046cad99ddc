"""This machine's limits for the profiler's roofline: copy bandwidth and FMA peak, per core.

- Copy bandwidth, per working-set size: a JIT-compiled loop streaming between two float32
  buffers (y = x + c, alternating direction so no pass is redundant), bytes read + written
  per second, for 2x16 KiB (L1) up to 2x64 MiB (memory). A kernel is compared with the
  bandwidth of the smallest working set that holds its bytes: small kernels timed in a loop
  run from cache, and DRAM bandwidth would make them look faster than possible.
- FMA peak: a JIT-compiled loop of 12 independent vector FMA chains at the host's widest
  float32 vector width (llvmlite, host CPU features), 2 flops per lane per FMA.

Both are single-thread numbers. They are measured once and cached in
$FUSEFLOW_CACHE_DIR/machine.json (default ~/.cache/fuseflow), keyed by CPU name and features.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

CACHE_FILE = "machine-v3.json"
_CHAINS = 12


COPY_SIZES = (16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20)   # bytes per buffer


@dataclass
class MachineLimits:
    cpu: str
    copy_gbps: dict             # bytes per buffer (str, JSON keys) -> GB/s (1e9 bytes), read + write
    fma_gflops: float           # GFLOP/s, float32, one core
    vector_width: int           # float32 lanes used by the FMA measurement
    has_fma: bool

    def bandwidth_for(self, working_set: float) -> tuple:
        """(GB/s, label) for a kernel moving `working_set` bytes: interpolated (log-log)
        between the measured working-set sizes."""
        points = sorted((2 * int(k), v) for k, v in self.copy_gbps.items())
        if working_set <= points[0][0]:
            return points[0][1], f"<= {_size_label(points[0][0])} working set"
        if working_set >= points[-1][0]:
            return points[-1][1], "memory"
        for (s0, b0), (s1, b1) in zip(points, points[1:]):
            if s0 <= working_set <= s1:
                t = math.log(working_set / s0) / math.log(s1 / s0)
                return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0))), \
                    f"{_size_label(working_set)} working set"
        return points[-1][1], "memory"

    @property
    def memory_gbps(self) -> float:
        return self.copy_gbps[str(max(int(k) for k in self.copy_gbps))]

    def describe(self) -> str:
        levels = ", ".join(f"{_size_label(2 * int(k))} {v:.0f}" for k, v in
                           sorted(self.copy_gbps.items(), key=lambda kv: int(kv[0])))
        return (f"{self.cpu}, one core: float32 {'FMA' if self.has_fma else 'mul+add'} peak "
                f"{self.fma_gflops:.1f} GFLOP/s ({self.vector_width} lanes); copy GB/s by working set: {levels}")


def _size_label(n: float) -> str:
    return f"{n / (1 << 20):.3g} MiB" if n >= 1 << 20 else f"{n / 1024:.3g} KiB"


def cache_dir() -> str:
    return os.environ.get("FUSEFLOW_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "fuseflow")


def _host() -> tuple:
    import llvmlite.binding as llvm
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def _key(cpu: str, features: str) -> str:
    return cpu + "-" + hashlib.sha1(features.encode()).hexdigest()[:12]


_COPY_IR = """
define void @ff_copy_bw(i64 %reps, ptr noalias %a, ptr noalias %b, i64 %n, float %c) {
entry:
  br label %outer
outer:
  %r = phi i64 [0, %entry], [%r1, %outer.end]
  %odd = trunc i64 %r to i1
  %src = select i1 %odd, ptr %b, ptr %a
  %dst = select i1 %odd, ptr %a, ptr %b
  br label %inner
inner:
  %i = phi i64 [0, %outer], [%i1, %inner]
  %p = getelementptr inbounds float, ptr %src, i64 %i
  %x = load float, ptr %p, align 64
  %y = fadd float %x, %c
  %q = getelementptr inbounds float, ptr %dst, i64 %i
  store float %y, ptr %q, align 64
  %i1 = add nuw i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %inner, label %outer.end
outer.end:
  %r1 = add nuw i64 %r, 1
  %again = icmp ult i64 %r1, %reps
  br i1 %again, label %outer, label %exit
exit:
  ret void
}
"""


def _jit(ir: str, cpu: str, features: str):
    """(engine, address of the module's one function): keep the engine alive while calling."""
    import llvmlite.binding as llvm
    tm = llvm.Target.from_default_triple().create_target_machine(cpu=cpu, features=features, opt=3)
    mod = llvm.parse_assembly(ir)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    name = next(f.name for f in mod.functions if not f.is_declaration)
    return engine, engine.get_function_address(name)


def _aligned(nfloats: int) -> np.ndarray:
    raw = np.zeros(nfloats + 16, np.float32)
    off = (-raw.ctypes.data % 64) // 4
    return raw[off:off + nfloats]


def measure_copy_bandwidth(cpu: str, features: str, sizes=COPY_SIZES, target_seconds: float = 0.02) -> dict:
    """bytes per buffer (as str) -> GB/s moved (read + write), one thread."""
    engine, addr = _jit(_COPY_IR, cpu, features)
    fn = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                          ctypes.c_float)(addr)
    out = {}
    for size in sizes:
        n = size // 4
        a, b = _aligned(n), _aligned(n)
        reps = 2
        while True:
            t = time.perf_counter()
            fn(reps, a.ctypes.data, b.ctypes.data, n, 0.0)
            dt = time.perf_counter() - t
            if dt > target_seconds / 3 or reps > 1 << 24:
                break
            reps *= 4
        best = min(dt, *(_timed(fn, reps, a, b, n) for _ in range(2)))
        out[str(size)] = 2 * size * reps / best / 1e9
    del engine
    return out


def _timed(fn, reps, a, b, n) -> float:
    t = time.perf_counter()
    fn(reps, a.ctypes.data, b.ctypes.data, n, 0.0)
    return time.perf_counter() - t


def _vector_width(features: str) -> int:
    feats = set(features.split(","))
    if "+avx512f" in feats:
        return 16
    if "+avx" in feats or "+avx2" in feats:
        return 8
    return 4


def _fma_ir(width: int, fma: bool) -> str:
    vt = f"<{width} x float>"
    splat = lambda v: "<" + ", ".join([f"float {v}"] * width) + ">"   # noqa: E731
    lines = [f"define void @ff_fma_peak(i64 %n, ptr %out) {{", "entry:", "  br label %loop", "loop:",
             "  %i = phi i64 [0, %entry], [%i1, %loop]"]
    for c in range(_CHAINS):
        lines.append(f"  %a{c} = phi {vt} [{splat(1.0 + c * 0.125)}, %entry], [%b{c}, %loop]")
    m, k = splat("0x3FEFFFFFC0000000"), splat("0x3E7AD7F2A0000000")   # 0.99999988, 1e-7
    for c in range(_CHAINS):
        if fma:
            lines.append(f"  %b{c} = call {vt} @llvm.fma.v{width}f32({vt} %a{c}, {vt} {m}, {vt} {k})")
        else:
            lines.append(f"  %p{c} = fmul {vt} %a{c}, {m}")
            lines.append(f"  %b{c} = fadd {vt} %p{c}, {k}")
    lines += ["  %i1 = add i64 %i, 1", "  %more = icmp ult i64 %i1, %n",
              "  br i1 %more, label %loop, label %exit", "exit:"]
    acc = "%b0"
    for c in range(1, _CHAINS):
        lines.append(f"  %s{c} = fadd {vt} {acc}, %b{c}")
        acc = f"%s{c}"
    lines += [f"  store {vt} {acc}, ptr %out, align 4", "  ret void", "}"]
    if fma:
        lines.append(f"declare {vt} @llvm.fma.v{width}f32({vt}, {vt}, {vt})")
    return "\n".join(lines) + "\n"


def measure_fma_peak(cpu: str, features: str, target_seconds: float = 0.05) -> tuple:
    """-> (GFLOP/s, vector width, uses FMA)."""
    width = _vector_width(features)
    fma = "+fma" in features.split(",") or "+avx512f" in features.split(",")
    engine, addr = _jit(_fma_ir(width, fma), cpu, features)
    fn = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)(addr)
    out = np.zeros(width, np.float32)
    n = 1 << 16
    while True:  # grow n until one run takes a measurable time
        t = time.perf_counter()
        fn(n, out.ctypes.data)
        dt = time.perf_counter() - t
        if dt > target_seconds / 4 or n > 1 << 30:
            break
        n *= 4
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        fn(n, out.ctypes.data)
        best = min(best, time.perf_counter() - t)
    flops = n * _CHAINS * width * 2
    del engine  # keep the engine alive until here: fn points into it
    return flops / best / 1e9, width, fma


def machine_limits(refresh: bool = False) -> MachineLimits:
    """The cached limits of this machine, measuring them (about a second) the first time."""
    cpu, features = _host()
    key = _key(cpu, features)
    path = os.path.join(cache_dir(), CACHE_FILE)
    cache = {}
    if os.path.exists(path):
        try:
            with open(path) as f:
                cache = json.load(f)
        except (OSError, ValueError):
            cache = {}
    if not refresh and key in cache:
        try:
            return MachineLimits(**cache[key])
        except TypeError:
            pass  # an older cache layout: measure again
    gflops, width, fma = measure_fma_peak(cpu, features)
    limits = MachineLimits(cpu, measure_copy_bandwidth(cpu, features), gflops, width, fma)
    cache[key] = asdict(limits)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(cache, f, indent=1)
        os.replace(tmp, path)       # atomic: concurrent profilers never see half a file
    except OSError:
        pass                        # an unwritable cache only costs a re-measurement
    return limits
