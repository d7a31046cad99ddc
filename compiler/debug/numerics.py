"""Find where a NaN or an Inf came from: the first kernel that stores one, then the op inside it.

1. Run the program with every kernel result exposed (run.py) and scan kernels in execution
   order; the first kernel whose stored buffers hold a NaN/Inf is where it appeared (its inputs
   are program inputs, constants, or results of earlier kernels, which were all finite).
2. Inside that kernel, evaluate its ops with the reference interpreter on the kernel's actual
   inputs and walk back from the non-finite result: follow operands that are non-finite too,
   until an op whose operands are all finite. That op, its source line and its operands'
   ranges are the report. (Walking back from the stored value, not forward from the first
   op producing an Inf, skips harmless intermediates such as log(x) in a masked-off branch.)
3. If the reference evaluation of the kernel stays finite on the same inputs, the generated
   code disagrees with the ops' semantics: the report says so (then try --compare-reference).

`FUSEFLOW_CHECK_NUMERICS=1` or `compile_graph(..., check_numerics=True)` runs this check after
every call and raises NumericsError at the first non-finite kernel result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..ir import Graph, Value
from ..printer import is_inline_literal, number_nodes
from .buffers import donate_of, kernel_members
from .run import ProgramRun, evaluate_members, outside_value, run_native, run_reference


class NumericsError(FloatingPointError):
    """A compiled program produced a NaN or an Inf; `.report` says where."""

    def __init__(self, report: "NumericsReport"):
        super().__init__(report.render())
        self.report = report


def _nonfinite(a) -> tuple:
    """(NaN count, Inf count) of a float array; (0, 0) for other dtypes."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        return 0, 0
    return int(np.isnan(a).sum()), int(np.isinf(a).sum())


def value_range(a) -> str:
    """`[min, max]` over the finite elements, plus how many are NaN/Inf."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.dtype.kind not in "fciub":
        return a.dtype.name
    nan, inf = _nonfinite(a)
    finite = a[np.isfinite(a)] if a.dtype.kind in "fc" else a
    text = f"[{finite.min():.6g}, {finite.max():.6g}]" if finite.size else "no finite values"
    extra = []
    if nan:
        extra.append(f"{nan} NaN")
    if inf:
        extra.append(f"{inf} Inf")
    zeros = int((a == 0).sum())
    if zeros and a.dtype.kind in "fc":
        extra.append(f"{zeros} zeros")
    return text + (f" ({', '.join(extra)})" if extra else "")


@dataclass
class Operand:
    desc: str                    # `%4 relu 'dense/relu'`
    type: str
    range: str


@dataclass
class NumericsReport:
    kernel_index: Optional[int]  # None: the NaN/Inf is already in a program input
    kernel_name: str
    source: str                  # which run found it: 'native' | 'reference'
    node: Optional[int]          # fused-graph node id of the op that produced it
    node_desc: str               # `div 'truediv' at model.py:42`
    loc: Optional[str]           # `model.py:42`
    counts: str                  # `12 of 40 elements NaN, 0 Inf`
    operands: list = field(default_factory=list)        # [Operand] of that op
    kernel_inputs: list = field(default_factory=list)   # [Operand] of the kernel
    note: str = ""

    def render(self) -> str:
        where = f"kernel {self.kernel_index} {self.kernel_name}" if self.kernel_index is not None \
            else "a program input"
        lines = [f"NaN/Inf first appears in {where} ({self.source} run)"]
        if self.node_desc:
            lines.append(f"  {'produced by' if self.kernel_index is not None else 'input'}: {self.node_desc}")
        lines.append(f"  result: {self.counts}")
        if self.operands:
            lines.append("  its operands:")
            lines += [f"    {o.desc:<40} {o.type:<14} {o.range}" for o in self.operands]
        if self.kernel_inputs:
            lines.append("  kernel inputs:")
            lines += [f"    {o.desc:<40} {o.type:<14} {o.range}" for o in self.kernel_inputs]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


def _desc(fused: Graph, number: dict, v: Value) -> str:
    d = fused.nodes[v.node]
    num = f"%{number[v.node]}" if v.node in number else ""
    out = f".{v.out}" if len(d["outputs"]) > 1 else ""
    return f"{num}{out} {d['op']} '{d['name']}'".strip()


def _counts(arrays: Sequence) -> str:
    nan = inf = size = 0
    for a in arrays:
        n, i = _nonfinite(a)
        nan, inf, size = nan + n, inf + i, size + np.asarray(a).size
    return f"{nan} NaN and {inf} Inf among {size} elements"


def _kernel_input_values(fused: Graph, members: list) -> list:
    """Values (outside the kernel) that its ops read, in first-use order."""
    member_set, seen, out = set(members), set(), []
    for n in members:
        for v in fused.operands(n):
            if v.node not in member_set and v not in seen:
                seen.add(v)
                out.append(v)
    return out


def _origin(fused: Graph, members: list, local: dict, outside: dict, start: int) -> tuple:
    """Walk back from a non-finite stored value to the op whose operands are all finite.
    Returns (that node, an operand from outside the kernel that is already non-finite, or None)."""
    member_set = set(members)
    order = {n: i for i, n in enumerate(members)}
    cur = start
    while True:
        bad_inside, bad_outside = [], None
        for v in fused.operands(cur):
            if v.node in member_set:
                if sum(_nonfinite(local[v.node][v.out])):
                    bad_inside.append(v.node)
            elif bad_outside is None and v in outside and sum(_nonfinite(outside[v])):
                bad_outside = v
        if not bad_inside:
            return cur, bad_outside
        cur = min(bad_inside, key=order.__getitem__)


def find_nonfinite(fused: Graph, run: ProgramRun) -> Optional[NumericsReport]:
    """The first kernel (in execution order) storing a NaN/Inf and the op responsible, or None."""
    number = number_nodes(fused)
    program = run.program
    # A NaN fed in by the caller is not the compiled code's doing: say so first.
    for i, (name, v) in enumerate(zip(program.inputs, [Value(n, 0) for n in fused.graph["inputs"]])):
        arr = run.values.get(name)
        if arr is not None and sum(_nonfinite(arr)):
            loc = fused.nodes[v.node].get("loc")
            return NumericsReport(None, "", run.source, v.node,
                                  f"%{number.get(v.node, '?')} {fused.describe(v.node)} (program input {i})",
                                  str(loc) if loc else None, f"{_counts([arr])}; values {value_range(arr)}",
                                  note="the non-finite values come in with the inputs (arguments or variables "
                                       "updated by an earlier call), not from this program")
    for index, kernel in enumerate(program.kernels):
        stored = [run.values[w] for w in kernel.writes if w in run.values]
        if not any(sum(_nonfinite(a)) for a in stored):
            continue
        return _localize(fused, run, number, index, kernel, stored)
    return None


def _localize(fused: Graph, run: ProgramRun, number: dict, index: int, kernel, stored: list) -> NumericsReport:
    members = kernel_members(fused, kernel)
    if not members:
        # An output copy kernel: the copied value is an input or constant.
        return NumericsReport(index, kernel.name, run.source, None, ", ".join(kernel.nodes), None,
                              _counts(stored), note="copied unchanged from an input or constant")
    outside = {v: outside_value(fused, run, v) for v in _kernel_input_values(fused, members)}
    kernel_inputs = [Operand(_desc(fused, number, v), str(fused.value_type(v)), value_range(a))
                     for v, a in outside.items() if not is_inline_literal(fused, v.node)]
    local = evaluate_members(fused, run, members)
    member_set = set(members)
    # Results the kernel stores (read by other kernels or returned) that hold NaN/Inf.
    bad_stored = [n for n in members
                  if (fused.is_output(n) or any(u not in member_set for u, _ in fused.users(n)))
                  and any(sum(_nonfinite(a)) for a in local[n])]
    if not bad_stored:
        return NumericsReport(
            index, kernel.name, run.source, None, "", None, _counts(stored), kernel_inputs=kernel_inputs,
            note=("the reference ops of this kernel stay finite on the same inputs: the generated code for "
                  f"it disagrees with the ops' semantics (kernel fuses {', '.join(kernel.nodes)}); "
                  "compare with the reference interpreter (--compare-reference)"))
    node, bad_operand = _origin(fused, members, local, outside, bad_stored[0])
    operands = []
    for v in fused.operands(node):
        arr = local[v.node][v.out] if v.node in member_set else outside[v]
        operands.append(Operand(_desc(fused, number, v), str(fused.value_type(v)), value_range(arr)))
    note = ""
    if bad_operand is not None:
        note = (f"operand {_desc(fused, number, bad_operand)} already holds non-finite values "
                f"(a program input or constant)")
    loc = fused.nodes[node].get("loc")
    return NumericsReport(index, kernel.name, run.source, node, f"%{number.get(node, '?')} {fused.describe(node)}",
                          str(loc) if loc else None, _counts(local[node]), operands, kernel_inputs, note)


def check_numerics(fused: Graph, name: str, args: Sequence, *, donate: Optional[dict] = None,
                   native: bool = True) -> Optional[NumericsReport]:
    """Run the program (natively, or with the reference interpreter) and locate the first
    NaN/Inf; None if every kernel result is finite."""
    run = (run_native(fused, name, args, donate=donate) if native
           else run_reference(fused, name, args, donate=donate))
    return find_nonfinite(fused, run)


class CheckedCall:
    """Replaces a CompiledGraph's call in check-numerics mode: runs the exposed-temps variant
    (compiled once, on first call), scans every kernel result, raises NumericsError at the
    first NaN/Inf, else returns the real outputs (written into donated inputs as usual)."""

    def __init__(self, compiled):
        self.compiled = compiled
        self._native = None

    def __call__(self, *arrays):
        from .run import NativeVariant
        if self._native is None:
            self._native = NativeVariant(self.compiled.graph, self.compiled.program.name,
                                         donate_of(self.compiled.program))
        run, outs = self._native.run(arrays, copy_inputs=False)
        report = find_nonfinite(self.compiled.graph, run)
        if report is not None:
            raise NumericsError(report)
        return outs
