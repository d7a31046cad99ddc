"""Every buffer's value after one run of a program: natively, or with the reference interpreter.

The debugging tools (NaN finder, reference comparison, profiler) look inside a compiled
program by lowering its fused graph again *unplanned* (each temp its own buffer), turning the
temps into outputs (buffers.expose_temps), compiling that variant and running it once. The
result maps every buffer to its array, so kernels can be inspected in execution order.
The reference side computes the same table from the numpy interpreter's trace.

The variant differs from the real program only in buffer planning (no temp sharing or in-place
kernels): a bug that depends on buffer reuse shows up in the real program and not here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..interpreter import bind_symbols, interpret, run_node
from ..ir import Graph, Value
from ..loopir import Program
from .buffers import buffer_values, expose_temps, lower_recording


@dataclass
class ProgramRun:
    """One run: the unplanned program (with `value_buffer`) and every buffer's array."""
    program: Program
    values: dict                 # buffer name -> np.ndarray
    source: str                  # 'native' | 'reference'
    env: dict = field(default_factory=dict)   # size symbol -> int

    def value_of(self, v: Value) -> Optional[np.ndarray]:
        buf = self.program.value_buffer.get(v)
        return self.values.get(buf) if buf is not None else None


def load_native(program: Program, strict: bool = False, num_threads: Optional[int] = None):
    """Compile a loop-IR program to a callable runtime Executable."""
    try:
        from ..codegen.llvm import generate
        from fuseflow.runtime import Executable
    except ImportError as e:
        raise RuntimeError(f"native runs need the LLVM code generator and the runtime ({e})") from e
    result = generate(program, strict=strict)
    return Executable(result.object, result.signature, num_threads=num_threads)


def _fill_inputs_and_constants(program: Program, args: Sequence, values: dict) -> None:
    for name, arr in zip(program.inputs, args):
        values[name] = np.asarray(arr)
    for name, arr in program.constants.items():
        values[name] = arr


class NativeVariant:
    """The exposed-temps variant of a fused graph, compiled once, run many times."""

    def __init__(self, fused: Graph, name: str, donate: Optional[dict] = None, strict: bool = False):
        self.fused = fused
        self.program = lower_recording(fused, name, donate)
        self.variant = expose_temps(self.program)
        self.exe = load_native(self.variant, strict=strict)
        self._donated_inputs = set(getattr(self.program, "aliases", {}).values())

    def run(self, args: Sequence, *, copy_inputs: bool = True) -> tuple:
        """-> (ProgramRun, the program's real outputs). With copy_inputs the caller's arrays are
        never written (donated outputs go into copies); without, donated inputs are updated in
        place exactly as the real program does, and the run records their values from before."""
        args = [np.asarray(a) for a in args]
        if copy_inputs:
            call_args = [np.array(a, copy=True) for a in args]
            before = args
        else:
            call_args = args
            before = [np.array(a, copy=True) if name in self._donated_inputs else a
                      for name, a in zip(self.program.inputs, args)]
        outs = self.exe(*call_args)
        values: dict = {}
        _fill_inputs_and_constants(self.program, before, values)
        values.update(zip(self.variant.outputs, outs))
        run = ProgramRun(self.program, values, "native", bind_symbols(self.fused, before))
        return run, list(outs[:len(self.program.outputs)])


def run_native(fused: Graph, name: str, args: Sequence, *, donate: Optional[dict] = None,
               strict: bool = False) -> ProgramRun:
    """Run the exposed-temps variant of the fused graph natively on (copies of) `args`."""
    return NativeVariant(fused, name, donate, strict).run(args)[0]


def run_reference(fused: Graph, name: str, args: Sequence, *, donate: Optional[dict] = None,
                  program: Optional[Program] = None) -> ProgramRun:
    """The same buffer table from the numpy reference interpreter."""
    program = program or lower_recording(fused, name, donate)
    trace: dict = {}
    outs = interpret(fused, list(args), trace=trace)
    values: dict = {}
    _fill_inputs_and_constants(program, args, values)
    for buf, vals in buffer_values(program).items():
        if buf in program.inputs or buf in program.constants:
            continue
        v = vals[-1]
        if v.node in trace:
            values[buf] = trace[v.node][v.out]
    for bufname, arr in zip(program.outputs, outs):
        values.setdefault(bufname, arr)       # outputs filled by copy kernels
    return ProgramRun(program, values, "reference", bind_symbols(fused, args))


def outside_value(fused: Graph, run: ProgramRun, v: Value) -> np.ndarray:
    """The array a kernel reads for a value computed outside it (a buffer or an inline constant)."""
    buf = run.program.value_buffer.get(v)
    if buf is not None and buf in run.values:
        return run.values[buf]
    if fused.op(v.node) == "constant":
        return fused.attrs(v.node)["value"].array
    raise KeyError(f"{fused.describe(v.node)}: no buffer holds this value in the {run.source} run")


def evaluate_members(fused: Graph, run: ProgramRun, members: Sequence[int]) -> dict:
    """Reference evaluation of one kernel's nodes on the kernel inputs the run produced:
    node id -> list of output arrays."""
    member_set = set(members)
    values: dict = {}
    with np.errstate(all="ignore"):
        for n in members:
            ins = [values[v.node][v.out] if v.node in member_set else outside_value(fused, run, v)
                   for v in fused.operands(n)]
            values[n] = run_node(fused, n, ins, run.env)
    return values
