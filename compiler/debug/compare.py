"""Compiled program vs the numpy reference interpreter, kernel by kernel.

For every kernel result two errors are measured:
- end to end: the native value vs the reference interpreter run on the program inputs (what
  the user sees; includes error inherited from earlier kernels);
- local: the native value vs the kernel's ops evaluated by the interpreter on the *same*
  inputs the native kernel read (this kernel's own error, nothing inherited).
The first kernel whose local error exceeds the tolerance is where the program goes wrong.
If it fuses several ops, the program is compiled once more with one kernel per op
(`unfused`), which names the op whose generated code disagrees with its reference; if every
op alone agrees, the fused combination is at fault (a fusion or lowering bug).

Tolerance: |native - ref| <= atol * max(1, max|ref|) + rtol * |ref| (floats; NaN must match NaN);
integers and booleans must be equal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..fusion import Group
from ..ir import Graph, Value
from ..ops.registry import get_op
from ..printer import number_nodes
from .buffers import buffer_values, kernel_members
from .run import ProgramRun, evaluate_members, outside_value, run_native, run_reference

DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


@dataclass
class Error:
    abs: float
    rel: float
    exceeds: bool

    def __str__(self) -> str:
        return f"abs {self.abs:.3g} rel {self.rel:.3g}" + ("  !" if self.exceeds else "")


def measure(native, ref, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> Error:
    a, b = np.asarray(native), np.asarray(ref)
    if a.shape != b.shape:
        return Error(float("inf"), float("inf"), True)
    if a.size == 0:
        return Error(0.0, 0.0, False)
    if b.dtype.kind not in "fc":
        diff = np.abs(a.astype(np.int64) - b.astype(np.int64)) if b.dtype.kind in "iub" else (a != b)
        worst = float(np.max(diff))
        return Error(worst, worst / max(1.0, float(np.max(np.abs(b.astype(np.float64))))), worst > 0)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if np.any(nan_a != nan_b):
        return Error(float("inf"), float("inf"), True)
    same_inf = np.isinf(a64) & (a64 == b64)
    ok = ~nan_a & ~same_inf
    if not np.any(ok):
        return Error(0.0, 0.0, False)
    diff = np.abs(a64[ok] - b64[ok])
    mag = np.abs(b64[ok])
    scale = max(1.0, float(np.max(mag)))
    with np.errstate(all="ignore"):
        rel = np.max(diff / np.maximum(mag, np.finfo(np.float64).tiny))
    exceeds = bool(np.any(diff > atol * scale + rtol * mag))
    return Error(float(np.max(diff)), float(rel), exceeds)


@dataclass
class KernelComparison:
    index: int
    name: str
    members: list                 # fused-graph node ids
    end_to_end: Error
    local: Error


@dataclass
class CompareReport:
    kernels: list
    first_divergent: Optional[int] = None    # kernel index (local error beyond tolerance)
    first_end_to_end: Optional[int] = None   # kernel index (end-to-end error beyond tolerance)
    culprit: Optional[int] = None            # fused-graph node whose code disagrees alone
    culprit_error: Optional[Error] = None
    bisect_note: str = ""
    graph: Optional[Graph] = field(default=None, repr=False)
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    @property
    def ok(self) -> bool:
        return self.first_divergent is None and self.first_end_to_end is None

    def render(self) -> str:
        g = self.graph
        number = number_nodes(g) if g is not None else {}
        lines = [f"compiled vs reference interpreter (rtol={self.rtol:g}, atol={self.atol:g} x max(1,|ref|)):",
                 f"  {'kernel':<28} {'end-to-end error':<30} {'local error (same inputs)':<30}"]
        for k in self.kernels:
            mark = "  <-- diverges" if k.index == self.first_divergent else ""
            lines.append(f"  {k.index:>3} {k.name:<24} {str(k.end_to_end):<30} {str(k.local):<30}{mark}")
        if self.first_divergent is not None:
            k = self.kernels[self.first_divergent]
            lines.append(f"first kernel that diverges: kernel {k.index} {k.name}")
            if g is not None and k.members:
                lines.append("  it fuses: " + ", ".join(f"%{number.get(n, '?')} {g.describe(n)}" for n in k.members))
            if self.culprit is not None:
                lines.append(f"  the op whose generated code disagrees with its reference: "
                             f"%{number.get(self.culprit, '?')} {g.describe(self.culprit)} ({self.culprit_error})")
            if self.bisect_note:
                lines.append(f"  {self.bisect_note}")
        elif self.first_end_to_end is not None:
            k = self.kernels[self.first_end_to_end]
            lines.append(f"every kernel matches the reference on its own inputs; error accumulates to beyond "
                         f"tolerance first at kernel {k.index} {k.name} (rounding differences, e.g. reduction "
                         f"order or fused multiply-add)")
        else:
            lines.append("every kernel matches the reference within tolerance")
        return "\n".join(lines)


def _stored(program, kernel) -> list:
    """(buffer, Value or None) for each buffer a kernel writes."""
    contents = buffer_values(program)
    return [(w, (contents.get(w) or [None])[-1]) for w in kernel.writes]


def _worst(errors: list) -> Error:
    if not errors:
        return Error(0.0, 0.0, False)
    return Error(max(e.abs for e in errors), max(e.rel for e in errors), any(e.exceeds for e in errors))


def _compare_kernels(fused: Graph, native: ProgramRun, reference: ProgramRun, rtol, atol,
                     only: Optional[set] = None) -> list:
    out = []
    program = native.program
    for index, kernel in enumerate(program.kernels):
        members = kernel_members(fused, kernel)
        if only is not None and not (set(members) & only):
            continue
        local_vals = evaluate_members(fused, native, members) if members else {}
        e2e, local = [], []
        for buf, v in _stored(program, kernel):
            got = native.values.get(buf)
            if got is None:
                continue
            if buf in reference.values:
                e2e.append(measure(got, reference.values[buf], rtol, atol))
            if v is not None and v.node in local_vals:
                local.append(measure(got, local_vals[v.node][v.out], rtol, atol))
            elif not members:
                # an output copy kernel: compare with the value it copies
                src = _copied_value(fused, program, buf)
                if src is not None:
                    local.append(measure(got, outside_value(fused, native, src), rtol, atol))
        out.append(KernelComparison(index, kernel.name, members, _worst(e2e), _worst(local)))
    return out


def _copied_value(fused: Graph, program, buf: str) -> Optional[Value]:
    if buf in program.outputs:
        return fused.graph["outputs"][program.outputs.index(buf)]
    return None


def unfused_copy(fused: Graph) -> Graph:
    """The fused graph re-partitioned with one kernel per op (for bisection)."""
    g = fused.copy_graph()
    groups = {}
    for n in g.topo():
        kind = get_op(g.op(n)).kind
        if kind == "source":
            g.nodes[n].pop("group", None)
            continue
        gid = len(groups)
        anchor = n if kind in ("reduce", "matmul", "opaque") else None
        groups[gid] = Group(gid, anchor, [n], n, "unfused (one op per kernel, for bisection)")
        g.nodes[n]["group"] = gid
    g.graph["groups"] = groups
    return g


def compare_reference(fused: Graph, name: str, args: Sequence, *, donate: Optional[dict] = None,
                      rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, bisect: bool = True,
                      native: Optional[ProgramRun] = None) -> CompareReport:
    native = native or run_native(fused, name, args, donate=donate)
    reference = run_reference(fused, name, args, donate=donate, program=native.program)
    kernels = _compare_kernels(fused, native, reference, rtol, atol)
    report = CompareReport(kernels, graph=fused, rtol=rtol, atol=atol)
    report.first_divergent = next((k.index for k in kernels if k.local.exceeds), None)
    report.first_end_to_end = next((k.index for k in kernels if k.end_to_end.exceeds), None)
    if report.first_divergent is None or not bisect:
        return report
    suspect = kernels[report.first_divergent]
    if len(suspect.members) == 1:
        report.culprit, report.culprit_error = suspect.members[0], suspect.local
        return report
    if not suspect.members:
        return report
    # One kernel per op: which op's code is wrong on its own?
    split = unfused_copy(fused)
    split_native = run_native(split, name + "_unfused", args, donate=donate)
    split_ref = run_reference(split, name + "_unfused", args, donate=donate, program=split_native.program)
    per_op = _compare_kernels(split, split_native, split_ref, rtol, atol, only=set(suspect.members))
    bad = next((k for k in per_op if k.local.exceeds), None)
    if bad is not None:
        report.culprit, report.culprit_error = bad.members[0], bad.local
    else:
        report.bisect_note = ("compiled one op per kernel, every op of this kernel matches its reference: "
                              "the fused kernel as a whole is wrong (a fusion or lowering bug)")
    return report
