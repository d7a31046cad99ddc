"""Fusion: partition the graph's compute nodes into kernels.

Rules (each boundary records why it stopped; the dump tool prints it):
1. A reduction or matmul anchors a kernel. Its single elementwise consumer of the same shape
   joins as an epilogue, and so on down the chain (bias + activation after a matmul,
   scaling after a sum).
2. Elementwise and injective (broadcast, movement) producers join the kernel of their
   consumers when every consumer is in one kernel: they are recomputed inline (index maps,
   never materialized). An expensive producer (exp, log, matmul...) is not inlined where it
   would be recomputed: used twice at different indices or expanded by a broadcast.
3. Matmul and opaque kernels read their operands from buffers, so their producers are
   materialized. A reduction is never recomputed.
4. Graph outputs are materialized. Kernel size is bounded.

Result: node attr `group` (kernel id) on every compute node, and graph attr `groups`:
{kernel id: Group}. Sources (parameters, constants) belong to no kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .ir import Graph, Value
from .ops.registry import get_op
from .shapes import num_elements

MAX_KERNEL_NODES = 48


@dataclass
class Group:
    id: int
    anchor: Optional[int]            # the reduce/matmul/opaque node, if any
    members: list = field(default_factory=list)   # node ids in topological order
    root: Optional[int] = None       # the node whose value the kernel stores
    reason: str = ""                 # why the kernel ends where it ends


def _kind(g: Graph, n: int) -> str:
    return get_op(g.op(n)).kind


def fuse(g: Graph) -> Graph:
    order = g.topo()
    position = {n: i for i, n in enumerate(order)}
    group_of: dict = {}
    groups: dict = {}

    def new_group(anchor=None) -> Group:
        grp = Group(len(groups), anchor)
        groups[grp.id] = grp
        return grp

    def add(grp: Group, n: int):
        group_of[n] = grp.id
        grp.members.append(n)

    # 1. anchors with their epilogue chains
    for n in order:
        kind = _kind(g, n)
        if kind not in ("reduce", "matmul", "opaque") or n in group_of:
            continue
        grp = new_group(anchor=n)
        add(grp, n)
        cur = n
        while True:
            stop = _epilogue_stop(g, grp, cur, kind, group_of)
            if stop:
                grp.reason = stop
                break
            (user, _), = g.users(cur)
            add(grp, user)
            cur = user
        grp.root = cur

    # 2. everything else, consumers first
    for n in reversed(order):
        if n in group_of or _kind(g, n) == "source":
            continue
        target, why = _inline_target(g, n, group_of, groups)
        if target is not None:
            add(groups[target], n)
        else:
            grp = new_group()
            add(grp, n)
            grp.root = n
            grp.reason = why

    # Kernels run in topological order of their roots; renumber densely in that order.
    ordered = sorted(groups.values(), key=lambda grp: position[grp.root])
    renumber = {grp.id: i for i, grp in enumerate(ordered)}
    final = {}
    for grp in ordered:
        grp.id = renumber[grp.id]
        grp.members.sort(key=position.__getitem__)
        final[grp.id] = grp
        for m in grp.members:
            g.nodes[m]["group"] = grp.id
    g.graph["groups"] = final
    return g


def _epilogue_stop(g: Graph, grp: Group, cur: int, anchor_kind: str, group_of: dict) -> str:
    """'' if the single consumer of `cur` can join the anchor's kernel, else the reason."""
    if anchor_kind == "opaque":
        return "opaque kernel (no epilogue fusion)"
    if len(g.output_types(cur)) != 1:
        return "multi-output op"
    if g.is_output(cur):
        return "result is a graph output"
    users = g.users(cur)
    if len(users) != 1:
        return f"result has {len(users)} consumers" if users else "result is unused"
    user = users[0][0]
    if _kind(g, user) != "elementwise":
        return f"consumer {g.nodes[user]['name']} is {_kind(g, user)}"
    if user in group_of:
        return "consumer already fused elsewhere"
    if g.output_types(user)[0].shape != g.output_types(cur)[0].shape:
        return "consumer broadcasts the result to a new shape"
    if anchor_kind == "matmul" and g.output_types(user)[0].dtype != g.output_types(cur)[0].dtype:
        return "consumer changes the dtype (a matmul epilogue keeps the output dtype)"
    if len(grp.members) >= MAX_KERNEL_NODES:
        return "kernel size limit"
    return ""


def _inline_target(g: Graph, n: int, group_of: dict, groups: dict):
    """(group id, '') if n can be recomputed inside its consumers' kernel, else (None, reason)."""
    kind = _kind(g, n)
    opdef = get_op(g.op(n))
    if kind not in ("elementwise", "injective"):
        return None, f"{kind} op starts a kernel"
    if len(g.output_types(n)) != 1:
        return None, "multi-output op is materialized"
    if g.is_output(n):
        return None, "result is a graph output"
    users = g.users(n)
    if not users:
        return None, "result is unused"
    targets = {group_of.get(u) for u, _ in users}
    if len(targets) != 1 or None in targets:
        return None, f"consumers are in {len(targets)} different kernels"
    target = targets.pop()
    grp = groups[target]
    for u, slot in users:
        ukind = _kind(g, u)
        if ukind in ("matmul", "opaque"):
            return None, f"operand of {ukind} {g.nodes[u]['name']} must be in memory"
    if not opdef.cheap:
        if len(users) > 1:
            return None, f"expensive {g.op(n)} used {len(users)} times is computed once"
        out_elems = num_elements(g.output_types(n)[0].shape)
        user = users[0][0]
        if any(num_elements(t.shape) != out_elems for t in g.output_types(user)) and _kind(g, user) != "reduce":
            return None, f"expensive {g.op(n)} would be recomputed by a broadcast"
    if len(grp.members) >= MAX_KERNEL_NODES:
        return None, "kernel size limit"
    return target, ""


def kernel_value_users_outside(g: Graph, grp: Group) -> list:
    """Values of the group that other kernels or the graph outputs read."""
    members = set(grp.members)
    vals = []
    for m in grp.members:
        for i in range(len(g.output_types(m))):
            v = Value(m, i)
            if g.is_output(m) or any(u not in members for u, _ in g.users(m, i)):
                vals.append(v)
    return vals
