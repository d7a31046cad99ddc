"""The 'kernels' dump stage: per kernel, what it fused, what it moves and computes, why it ends.

    kernel 2  k2_reduce_sum  (reduce, 3 nodes)
      fuses:    %9 exp 'softmax/Exp' (mlp.py:31), %10 reduce_sum 'softmax/Sum' (mlp.py:31), ...
      reads:    t1     f32[256,10]   10.0 KiB  <- %8 softmax/sub
      writes:   t2     f32[256]       1.0 KiB  -> %11 softmax/truediv
      cost:     7.94 kFLOP, 11.0 KiB moved, 0.70 flop/B
      boundary: consumer broadcasts the result to a new shape
      loops:
        for o0 in 0..256:  # parallel
          ...

`%N` numbers are those of the 'fused' stage, so the two views cross-reference. Buffer names
are the compiled program's (after buffer planning: temps with disjoint lifetimes share one).
"""
from __future__ import annotations

from typing import Optional

from ..ir import Graph
from ..loopir import Program, format_stmts
from ..ops.registry import get_op
from ..printer import number_nodes
from ..shapes import num_elements
from .buffers import buffer_values, donate_of, group_of_kernel, kernel_members, lower_recording
from .cost import human_bytes, human_count, kernel_cost


def _node_ref(g: Graph, number: dict, n: int) -> str:
    d = g.nodes[n]
    where = f" ({d['loc']})" if d.get("loc") else ""
    num = f"%{number[n]} " if n in number else ""
    return f"{num}{d['op']} '{d['name']}'{where}"


def _value_ref(g: Graph, number: dict, v) -> str:
    num = f"%{number[v.node]}" if v.node in number else g.nodes[v.node]["op"]
    return f"{num} {g.nodes[v.node]['name']}"


def _buffer_contents(program: Program, fused: Optional[Graph]) -> dict:
    """physical buffer name -> Values it holds (over the program's lifetime)."""
    if fused is None:
        return {}
    try:
        rec = lower_recording(fused, program.name, donate_of(program))
    except Exception:
        return {}  # a graph the lowering rejects: show the kernels without value names
    mapping = getattr(program, "buffer_mapping", {}) or {}
    out: dict = {}
    for buf, vals in buffer_values(rec).items():
        out.setdefault(mapping.get(buf, buf), []).extend(vals)
    for name, v in zip(program.outputs, fused.graph["outputs"]):
        out.setdefault(name, [v])      # outputs filled by a copy kernel hold the returned value
    return out


def _kind(fused: Optional[Graph], members: list, kernel) -> str:
    if fused is None or not members:
        return "copy" if kernel.name.startswith("copy_") else "kernel"
    group = fused.graph["groups"].get(group_of_kernel(kernel))
    anchor = group.anchor if group is not None else None
    return get_op(fused.op(anchor)).kind if anchor is not None else "elementwise"


def _wrap(head: str, items: list, width: int = 110) -> list:
    """Comma-separated items over as many lines as needed, aligned under the first."""
    lines, cur = [], head
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if cur.strip() and len(cur) + len(piece) + 1 > width and cur != head:
            lines.append(cur.rstrip())
            cur = " " * len(head)
        cur += piece + " "
    lines.append(cur.rstrip())
    return lines


def format_kernels(program: Program, fused: Optional[Graph] = None, env: Optional[dict] = None) -> str:
    """The kernel view of a program; `fused` (the fused graph) adds node numbers, source lines
    and value names; `env` (size symbol -> int) makes costs of symbolic shapes concrete."""
    number = number_nodes(fused) if fused is not None else {}
    contents = _buffer_contents(program, fused)
    lines = [f"program {program.name}({', '.join(program.inputs)}) -> ({', '.join(program.outputs)})"]
    if program.symbols:
        bound = ", ".join(f"{s}={env[s]}" if env and s in env else s for s in program.symbols)
        lines.append(f"  symbols: {bound}")
    lines.append(f"  {len(program.kernels)} kernels; buffers:")
    aliases = getattr(program, "aliases", {}) or {}
    for b in program.buffers.values():
        held = contents.get(b.name, [])
        what = ("  = " + ", ".join(_value_ref(fused, number, v) for v in held[:4])
                + (f", +{len(held) - 4}" if len(held) > 4 else "")) if held else ""
        shape = f"{b.dtype.short}[{','.join(map(str, b.shape))}]"
        alias = aliases.get(b.name)
        role = f"{b.role} (in place of {alias})" if alias else b.role
        lines.append(f"    {b.name:<6} {shape:<18} {role:<6}{what}")
    total_flops, total_bytes, known = 0, 0, True
    for i, k in enumerate(program.kernels):
        members = kernel_members(fused, k) if fused is not None else []
        cost = kernel_cost(k, program, env)
        lines.append("")
        count = len(members) if members else len(k.nodes)
        lines.append(f"kernel {i}  {k.name}  ({_kind(fused, members, k)}, {count} node{'s' * (count != 1)})")
        refs = [_node_ref(fused, number, n) for n in members] if members else list(k.nodes)
        if refs:
            lines += _wrap("  fuses:    ", refs)
        for label, names, sizes, arrow in (("reads:", k.reads, cost.reads, "<-"),
                                           ("writes:", k.writes, cost.writes, "->")):
            for j, name in enumerate(names):
                b = program.buffers.get(name)
                shape = f"{b.dtype.short}[{','.join(map(str, b.shape))}]" if b is not None else "?"
                held = contents.get(name, [])
                what = f"  {arrow} " + ", ".join(_value_ref(fused, number, v) for v in held[:3]) if held else ""
                head = f"  {label:<10}" if j == 0 else " " * 12
                size = human_bytes(sizes.get(name)) if sizes.get(name) is not None or b is None else \
                    f"{b.dtype.itemsize}*{num_elements(b.shape)} B"
                lines.append(f"{head}{name:<6} {shape:<18} {size:>10}{what}")
        intensity = f", {cost.intensity:.2f} flop/B" if cost.intensity is not None else ""
        lines.append(f"  cost:     {human_count(cost.flops, 'FLOP')}, {human_bytes(cost.bytes)} moved{intensity}")
        if cost.flops is None or cost.bytes is None:
            known = False
        else:
            total_flops += cost.flops
            total_bytes += cost.bytes
        lines.append(f"  boundary: {k.reason or '(none recorded)'}")
        lines.append("  loops:")
        lines += format_stmts(k.body, indent=2)
    lines.append("")
    if known:
        lines.append(f"total: {human_count(total_flops, 'FLOP')}, {human_bytes(total_bytes)} moved "
                     f"over {len(program.kernels)} kernels")
    else:
        lines.append("total: costs depend on symbolic sizes (profile with concrete inputs to see them)")
    return "\n".join(lines)
