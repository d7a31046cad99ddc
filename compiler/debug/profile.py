"""Per-kernel profile of a compiled graph on given inputs, against this machine's limits.

The native program is one entry point, so kernels are timed one at a time: each kernel of the
(unplanned) program is compiled as a program of its own (buffers.single_kernel_program) and
called on the very inputs it reads in a real run (the exposed-temps variant provides them).
A call costs microseconds of overhead (argument checks, output allocation, the ctypes call),
which would swamp small kernels: a loop kernel faster than SMALL_KERNEL_SECONDS is timed again
in a program that runs it REPEATS times in a row, and its time is the difference divided by
REPEATS - 1 (the overhead cancels). Other kernels (large ones, and those slow to compile
REPEATS times, like matmuls) subtract the time of a program with the same signature and no
kernels.

Kernels are timed on one thread, so they compare cleanly with the single-core limits of
machine.py; the whole program is timed as it really runs (the runtime's thread policy).
For each kernel: time, share of the kernels' total, achieved GB/s (compulsory bytes) and
GFLOP/s (cost.py estimates), and the fraction of its roofline time it reaches: the best
possible time is max(bytes / copy bandwidth at the kernel's working-set size, flops / FMA
peak); 100% means at the limit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from ..interpreter import bind_symbols
from .buffers import donate_of, single_kernel_program
from ..loopir import MatmulTemplate
from .cost import human_bytes, human_count, kernel_cost
from .machine import MachineLimits, machine_limits
from .run import NativeVariant, load_native

DEFAULT_MIN_TIME = 0.02      # seconds of repeated calls per measurement
MAX_REPEAT = 10000
SMALL_KERNEL_SECONDS = 200e-6
REPEATS = 5
REPEAT_COMPILE_BUDGET = 0.5  # seconds of extra compile time a kernel's repeated copy may cost


@dataclass
class KernelProfile:
    index: int
    name: str
    seconds: float
    flops: Optional[int]
    bytes: Optional[int]
    share: float = 0.0
    roofline_fraction: Optional[float] = None
    bound: str = ""                     # 'memory' | 'compute'

    @property
    def gbps(self) -> Optional[float]:
        return self.bytes / self.seconds / 1e9 if self.bytes and self.seconds > 0 else None

    @property
    def gflops(self) -> Optional[float]:
        return self.flops / self.seconds / 1e9 if self.flops and self.seconds > 0 else None


@dataclass
class ProfileReport:
    name: str
    kernels: list
    program_seconds: float              # one call of the real compiled program
    call_overhead: float                # per call, subtracted from the kernel times
    machine: MachineLimits
    threads: int
    notes: list = field(default_factory=list)

    @property
    def kernel_seconds(self) -> float:
        return sum(k.seconds for k in self.kernels)

    def render(self) -> str:
        m = self.machine
        lines = [f"profile of {self.name}: {len(self.kernels)} kernels (timed one at a time, on one thread)",
                 f"machine: {m.describe()}",
                 f"whole program: {self.program_seconds * 1e6:.1f} us per call (up to {self.threads} threads); "
                 f"kernels alone {self.kernel_seconds * 1e6:.1f} us; call overhead "
                 f"{self.call_overhead * 1e6:.1f} us",
                 "",
                 f"  {'#':>3} {'kernel':<26} {'time us':>9} {'share':>6} {'GB/s':>8} {'GFLOP/s':>9} "
                 f"{'of roofline':>11}  bound"]
        for k in self.kernels:
            gb = f"{k.gbps:.2f}" if k.gbps is not None else "-"
            gf = f"{k.gflops:.2f}" if k.gflops is not None else "-"
            roof = f"{k.roofline_fraction * 100:.0f}%" if k.roofline_fraction is not None else "-"
            lines.append(f"  {k.index:>3} {k.name:<26} {k.seconds * 1e6:>9.2f} {k.share * 100:>5.1f}% {gb:>8} "
                         f"{gf:>9} {roof:>11}  {k.bound}")
        total_bytes = sum(k.bytes or 0 for k in self.kernels)
        total_flops = sum(k.flops or 0 for k in self.kernels)
        lines.append("")
        lines.append(f"  totals: {human_bytes(total_bytes)} moved, {human_count(total_flops, 'FLOP')}")
        hot = max(self.kernels, key=lambda k: k.seconds, default=None)
        if hot is not None and hot.seconds > 0:
            lines.append(f"  hottest: kernel {hot.index} {hot.name} ({hot.share * 100:.0f}% of kernel time)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _time_calls(fn, min_time: float) -> float:
    """Best per-call time over batches of calls lasting about `min_time` each."""
    fn()                                             # warm up (plans, page faults)
    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-7)
    batch = int(min(MAX_REPEAT, max(1, min_time / once / 3)))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - t) / batch)
    return best


def _kernel_seconds(sub, ins: list, min_time: float) -> tuple:
    """(seconds per run of the one kernel of `sub`, the call overhead measured or None)."""
    start = time.perf_counter()
    once = load_native(sub, num_threads=1)
    compile_seconds = time.perf_counter() - start
    t1 = _time_calls(lambda: once(*ins), min_time)
    (kernel,) = sub.kernels
    # Compile time grows with the copies (matmuls take most): over budget, subtract instead.
    cheap_to_copy = compile_seconds * REPEATS < REPEAT_COMPILE_BUDGET and \
        not any(isinstance(s, MatmulTemplate) for s in kernel.body)
    if t1 < SMALL_KERNEL_SECONDS and cheap_to_copy:
        copies = [replace(kernel, name=f"{kernel.name}_rep{i}") for i in range(REPEATS)]
        repeated = load_native(replace(sub, kernels=copies, name=sub.name + "_rep"), num_threads=1)
        t_rep = _time_calls(lambda: repeated(*ins), min_time)
        per_run = max((t_rep - t1) / (REPEATS - 1), 0.0)
        return per_run, max(t1 - per_run, 0.0)
    empty = load_native(replace(sub, kernels=[], name=sub.name + "_empty"), num_threads=1)
    overhead = _time_calls(lambda: empty(*ins), min_time)
    return max(t1 - overhead, 0.0), overhead


def profile(compiled, *arrays, min_time: float = DEFAULT_MIN_TIME, limits: Optional[MachineLimits] = None
            ) -> ProfileReport:
    """Profile `compiled` (a CompiledGraph) on `arrays` (one per graph input). The caller's
    arrays are never modified (donated outputs go into copies)."""
    fused = compiled.graph
    arrays = [np.asarray(a) for a in arrays]
    limits = limits or machine_limits()
    donate = donate_of(compiled.program)
    variant = NativeVariant(fused, compiled.program.name, donate)
    run, _ = variant.run(arrays)
    program = run.program
    env = bind_symbols(fused, arrays)

    # the real program, on copies (a training step would otherwise update its variables)
    copies = [np.array(a, copy=True) for a in arrays]
    program_seconds = _time_calls(lambda: compiled(*copies), min_time)

    kernels, overheads, notes = [], [], []
    for index, kernel in enumerate(program.kernels):
        sub = single_kernel_program(program, index)
        ins = [run.values[name] for name in sub.inputs]
        seconds, overhead = _kernel_seconds(sub, ins, min_time)
        if overhead is not None:
            overheads.append(overhead)
        cost = kernel_cost(kernel, program, env)
        kernels.append(KernelProfile(index, kernel.name, seconds, cost.flops, cost.bytes))
    total = sum(k.seconds for k in kernels) or 1.0
    for k in kernels:
        k.share = k.seconds / total
        _roofline(k, limits)
    notes.append("GB/s counts each buffer a kernel reads or writes once; GFLOP/s counts one op per math "
                 "function call")
    from fuseflow.runtime.executable import default_threads
    return ProfileReport(compiled.name, kernels, program_seconds,
                         float(np.median(overheads)) if overheads else 0.0, limits, default_threads(), notes)


def _roofline(k: KernelProfile, m: MachineLimits) -> None:
    if k.seconds <= 0 or not k.bytes:
        return
    peak_flops = m.fma_gflops * 1e9
    gbps, level = m.bandwidth_for(k.bytes)
    peak_bw = gbps * 1e9
    flops = k.flops or 0
    # time the kernel needs at best: limited by memory traffic or by arithmetic
    t_mem, t_flop = k.bytes / peak_bw, flops / peak_flops
    k.bound = f"memory ({level})" if t_mem >= t_flop else "compute"
    k.roofline_fraction = max(t_mem, t_flop) / k.seconds
