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
    row: Optional[tuple] = None      # row kernels: (full shape S, number of trailing axes reduced)


def _kind(g: Graph, n: int) -> str:
    return get_op(g.op(n)).kind


MAX_DUPLICATES = 4


def duplicate_cheap_producers(g: Graph) -> Graph:
    """Give each consumer of a cheap index map or cheap elementwise op its own copy.

    A reshape or `x + b` read by three kernels would otherwise be stored once and loaded
    three times; recomputing it inline in each consumer costs a few instructions and saves
    a kernel and a round trip through memory (unrolled RNNs are full of these)."""
    for n in reversed(g.topo()):
        d = g.nodes[n]
        opdef = get_op(d["op"])
        if opdef.kind not in ("elementwise", "injective") or not opdef.cheap or opdef.stateful:
            continue
        if len(d["outputs"]) != 1 or g.is_output(n):
            continue
        users = g.users(n)
        consumers = sorted({u for u, _ in users})
        if not 2 <= len(consumers) <= MAX_DUPLICATES or _ends_an_epilogue_chain(g, n):
            continue
        operands = g.operands(n)
        # consumers that read operands from memory (matmul, opaque) share the original, which
        # is materialized anyway; every other consumer gets its own inline copy
        in_memory = [u for u in consumers if _kind(g, u) in ("matmul", "opaque")]
        inline = [u for u in consumers if u not in in_memory]
        for u in (inline if in_memory else inline[1:]):
            clone = g.add_op(d["op"], operands, d["attrs"], name=d["name"], loc=d.get("loc"), outputs=d["outputs"])
            for user, slot in users:
                if user == u:
                    g.set_operand(u, slot, Value(clone, 0))
    return g


def _ends_an_epilogue_chain(g: Graph, n: int, depth: int = 8, anchors=("matmul", "reduce")) -> bool:
    """True if n sits at the end of a single-consumer elementwise chain hanging off a matmul or
    reduction: that chain is the anchor's epilogue, computed once, and is better stored once
    than recomputed by each consumer."""
    cur = n
    for _ in range(depth):
        producers = [v.node for v in g.operands(cur)]
        if any(_kind(g, p) in anchors for p in producers):
            return True
        chain = [p for p in producers if _kind(g, p) == "elementwise" and len(g.users(p)) == 1]
        if len(chain) != 1:
            return False
        cur = chain[0]
    return False


def fuse(g: Graph) -> Graph:
    g = duplicate_cheap_producers(g)
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

    # 0. row kernels: reductions over trailing axes whose results broadcast back (softmax)
    for region, full_shape, trailing in _row_regions(g, order):
        grp = new_group(anchor=min((m for m in region if _kind(g, m) == "reduce"), key=position.__getitem__))
        for m in sorted(region, key=position.__getitem__):
            add(grp, m)
        grp.root = grp.members[-1]
        grp.row = (tuple(full_shape), trailing)
        grp.reason = "row kernel: reductions over the trailing axes and their broadcasts, one pass per phase"

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


def _row_regions(g: Graph, order: list) -> list:
    """Maximal sets of nodes computed row by row: reductions over the trailing axes T of a
    full shape S, and elementwise ops of shape S or S-with-T-kept-as-1, where some full-shape
    node reads a reduction's result broadcast back (x - max(x), e / sum(e)). Such a set runs
    as one kernel with one loop over the rows and a pass over each row per phase, so the
    row stays in cache and nothing row-sized round-trips through memory."""
    import networkx as nx

    taken: set = set()
    regions = []
    for r in order:
        if r in taken or _kind(g, r) != "reduce" or get_op(g.op(r)).extra.get("arg") or not g.attrs(r)["keepdims"]:
            continue
        (src,) = g.operands(r)
        full = tuple(g.value_type(src).shape)
        axes = tuple(g.attrs(r)["axes"])
        k = len(axes)
        if not k or k >= len(full) or axes != tuple(range(len(full) - k, len(full))):
            continue
        kept = full[:-k] + (1,) * k
        if kept == full:
            continue
        region = _grow_row_region(g, r, full, kept, axes, taken)
        reductions = [m for m in region if _kind(g, m) == "reduce"]
        broadcast_back = any(g.output_types(m)[0].shape == full and
                             any(u in reductions or g.output_types(u)[0].shape == kept for u in nx.ancestors(g, m) & region)
                             for m in region if _kind(g, m) == "elementwise")
        if not broadcast_back or len(region) > MAX_KERNEL_NODES:
            continue
        taken |= region
        regions.append((region, full, k))
    return regions


def _grow_row_region(g: Graph, start: int, full, kept, axes, taken) -> set:
    import networkx as nx

    def row_member(n) -> bool:
        if n in taken or len(g.output_types(n)) != 1:
            return False
        kind = _kind(g, n)
        shape = g.output_types(n)[0].shape
        if kind == "elementwise":
            # a matmul's bias/activation belongs to the matmul's epilogue, not to the row kernel
            return shape in (full, kept) and not _ends_an_epilogue_chain(g, n, anchors=("matmul",))
        if kind == "reduce" and not get_op(g.op(n)).extra.get("arg"):
            (src,) = g.operands(n)
            return (g.value_type(src).shape == full and tuple(g.attrs(n)["axes"]) == axes
                    and g.attrs(n)["keepdims"] and shape == kept)
        return False

    region = {start}
    frontier = [start]
    while frontier:
        n = frontier.pop()
        neighbours = [v.node for v in g.operands(n)] + [u for u, _ in g.users(n)]
        for m in neighbours:
            if m in region or not row_member(m):
                continue
            region.add(m)
            frontier.append(m)
    # Convexity: no path may leave the region and come back (that would be a cycle of kernels).
    changed = True
    while changed:
        changed = False
        outside_desc = set()
        for n in region:
            for u, _ in g.users(n):
                if u not in region:
                    outside_desc |= {u} | nx.descendants(g, u)
        bad = region & outside_desc
        if bad:
            region -= bad
            changed = True
    # The start's own reduction must stay; drop what became disconnected from it.
    if start not in region:
        return set()
    undirected = g.subgraph(region).to_undirected(as_view=True)
    return set(nx.node_connected_component(undirected, start))


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
    reshape_ok = anchor_kind == "reduce" and g.op(user) == "reshape"  # same element order: a view
    if _kind(g, user) != "elementwise" and not reshape_ok:
        return f"consumer {g.nodes[user]['name']} is {_kind(g, user)}"
    if user in group_of:
        return "consumer already fused elsewhere"
    if g.output_types(user)[0].shape != g.output_types(cur)[0].shape and not reshape_ok:
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
