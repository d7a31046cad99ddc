"""Buffer planning on the loop-IR Program: temps whose lifetimes do not overlap share memory.

Greedy over kernels in execution order: when a kernel first writes a temp, it takes a free
slot of the same dtype and element count, or a new one. A slot becomes free after the last
kernel that reads it; it may even be reused by that same kernel (in place) when the kernel
is one flat elementwise loop that reads the slot only at the index it stores to.
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

from .loopir import Kernel, Load, Loop, MatmulTemplate, Program, Store, Var
from .shapes import num_elements


def _walk(node):
    yield node
    if is_dataclass(node):
        for f in fields(node):
            v = getattr(node, f.name)
            if isinstance(v, (list, tuple)):
                for x in v:
                    if is_dataclass(x):
                        yield from _walk(x)
            elif is_dataclass(v):
                yield from _walk(v)


def rename_buffers(node, mapping: dict):
    """A copy of a statement/expression tree with buffer names replaced."""
    if isinstance(node, list):
        return [rename_buffers(x, mapping) for x in node]
    if isinstance(node, tuple):
        return tuple(rename_buffers(x, mapping) for x in node)
    if not is_dataclass(node):
        return node
    changes = {}
    for f in fields(node):
        v = getattr(node, f.name)
        if f.name in ("buffer", "a", "b", "out") and isinstance(v, str):
            if v in mapping:
                changes[f.name] = mapping[v]
        elif isinstance(v, (list, tuple)) or is_dataclass(v):
            nv = rename_buffers(v, mapping)
            if nv is not v:
                changes[f.name] = nv
    return replace(node, **changes) if changes else node


def _in_place_ok(kernel: Kernel, read_buf: str, write_buf: str) -> bool:
    """One flat loop storing write_buf[i] and reading read_buf only at [i]."""
    if len(kernel.body) != 1 or not isinstance(kernel.body[0], Loop):
        return False
    loop = kernel.body[0]
    idx = Var(loop.var)
    for node in _walk(loop):
        if isinstance(node, Loop) and node is not loop:
            return False
        if isinstance(node, MatmulTemplate):
            return False
        if isinstance(node, Store) and node.buffer == write_buf and node.index != idx:
            return False
        if isinstance(node, Load) and node.buffer == read_buf and node.index != idx:
            return False
    return True


def plan_buffers(program: Program) -> Program:
    temps = {name for name, b in program.buffers.items() if b.role == "temp"}
    if not temps:
        return program
    last_read = {}
    for k, kernel in enumerate(program.kernels):
        for name in kernel.reads:
            if name in temps:
                last_read[name] = k
    mapping: dict = {}
    slots: list = []        # (physical name, dtype, element count)
    # last kernel reading any buffer placed in a slot (kept incrementally: rescanning the mapping
    # per candidate was quadratic, seconds for an unrolled RNN's thousands of temps); a buffer
    # never read keeps its slot busy for good
    slot_end: dict = {}
    never = float("inf")
    for k, kernel in enumerate(program.kernels):
        for name in kernel.writes:
            if name not in temps or name in mapping:
                continue
            buf = program.buffers[name]
            elems = num_elements(buf.shape)
            chosen = None
            for phys, dtype, n in slots:
                if dtype != buf.dtype or n != elems:
                    continue
                end = slot_end[phys]
                if end < k or (end == k and _in_place_ok(kernel, phys, name)):
                    chosen = phys
                    break
            if chosen is None:
                chosen = name
                slots.append((name, buf.dtype, elems))
                slot_end[name] = -1
            mapping[name] = chosen
            slot_end[chosen] = max(slot_end[chosen], last_read.get(name, never))
    if all(mapping.get(t, t) == t for t in temps):
        return program
    kernels = []
    for kernel in program.kernels:
        body = rename_buffers(kernel.body, mapping)
        kernels.append(replace(kernel, body=body,
                               reads=sorted({mapping.get(r, r) for r in kernel.reads}),
                               writes=sorted({mapping.get(w, w) for w in kernel.writes})))
        kernels[-1].label = getattr(kernel, "label", kernel.name)
    buffers = {n: b for n, b in program.buffers.items() if n not in temps or mapping.get(n) == n}
    planned = replace(program, buffers=buffers, kernels=kernels)
    for attr in ("errors", "aliases"):
        if hasattr(program, attr):
            setattr(planned, attr, getattr(program, attr))
    planned.buffer_mapping = mapping
    return planned
