"""Which graph value lives in which loop-IR buffer, and program variants for debugging.

Lowering is deterministic, so lowering the fused graph again (with a builder that keeps its
value -> buffer table) reproduces the compiled program's kernels and buffer names; buffer
planning's renaming (`program.buffer_mapping`) maps them to the physical buffers.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Optional

from ..ir import Graph
from ..loopir import Kernel, Program
from ..lowering import ProgramBuilder

_KERNEL_NAME = re.compile(r"^k(\d+)_")


class _RecordingBuilder(ProgramBuilder):
    """ProgramBuilder that also returns its value -> buffer table."""

    def build(self) -> Program:
        prog = super().build()
        prog.value_buffer = dict(self.value_buffer)
        return prog


def donate_of(program: Program) -> dict:
    """The `donate` argument (output index -> input index) a program was lowered with."""
    aliases = getattr(program, "aliases", {}) or {}
    return {program.outputs.index(o): program.inputs.index(i) for o, i in aliases.items()}


def lower_recording(fused: Graph, name: str, donate: Optional[dict] = None) -> Program:
    """Lower the fused graph again, unplanned (every temp has its own buffer), with
    `program.value_buffer` (Value -> buffer name)."""
    return _RecordingBuilder(fused, name, donate).build()


def group_of_kernel(kernel: Kernel) -> Optional[int]:
    """Fusion group id of a kernel (None for the output copy kernels lowering appends)."""
    m = _KERNEL_NAME.match(kernel.name)
    return int(m.group(1)) if m else None


def kernel_members(fused: Graph, kernel: Kernel) -> list:
    """Node ids of the fused graph that a kernel computes, in topological order."""
    gid = group_of_kernel(kernel)
    groups = fused.graph.get("groups", {})
    if gid is not None and gid in groups:
        return list(groups[gid].members)
    return []


def buffer_values(program: Program) -> dict:
    """buffer name -> list of Values stored in it (needs `program.value_buffer`)."""
    out: dict = {}
    for v, buf in getattr(program, "value_buffer", {}).items():
        out.setdefault(buf, []).append(v)
    return out


def physical_value_buffers(compiled) -> dict:
    """Value -> buffer name in `compiled.program` (after buffer planning), or {} if the
    re-lowered program does not match the compiled one."""
    rec = lower_recording(compiled.graph, compiled.program.name, donate_of(compiled.program))
    mapping = getattr(compiled.program, "buffer_mapping", {}) or {}
    if [k.name for k in rec.kernels] != [k.name for k in compiled.program.kernels]:
        return {}
    return {v: mapping.get(b, b) for v, b in rec.value_buffer.items()}


def expose_temps(program: Program) -> Program:
    """A copy of an unplanned program where every temp buffer is also a program output (after
    the real outputs, in kernel write order), so one run returns every kernel's results."""
    temps = []
    for k in program.kernels:
        for w in k.writes:
            if program.buffers[w].role == "temp" and w not in temps:
                temps.append(w)
    buffers = {n: (replace(b, role="output") if n in temps else b) for n, b in program.buffers.items()}
    variant = replace(program, buffers=buffers, outputs=list(program.outputs) + temps)
    for attr in ("errors", "aliases", "value_buffer"):
        if hasattr(program, attr):
            setattr(variant, attr, getattr(program, attr))
    return variant


def single_kernel_program(program: Program, index: int) -> Program:
    """A program running only kernel `index` of an unplanned program: the original inputs
    (so every size symbol stays bound) plus the buffers it reads that earlier kernels wrote
    become inputs; what it writes become outputs."""
    kernel = program.kernels[index]
    extra_inputs = [r for r in kernel.reads if program.buffers[r].role in ("temp", "output")]
    writes = list(kernel.writes)
    buffers = {}
    for name, b in program.buffers.items():
        if name in program.inputs or b.role == "const" and name in kernel.reads:
            buffers[name] = b
        elif name in extra_inputs:
            buffers[name] = replace(b, role="input")
        elif name in writes:
            buffers[name] = replace(b, role="output")
    constants = {n: a for n, a in program.constants.items() if n in buffers}
    sub = Program(f"{program.name}_{kernel.name}", buffers, [kernel], list(program.inputs) + extra_inputs,
                  writes, list(program.symbols), constants)
    sub.errors = getattr(program, "errors", {})
    sub.aliases = {}
    return sub
