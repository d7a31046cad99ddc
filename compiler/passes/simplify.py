"""Graph simplification passes: constant folding, algebraic identities, CSE, DCE.

Every rewrite preserves the value's type exactly (shape and dtype): `x * 1` is replaced by
`x` only when broadcasting against the 1 does not change x's shape or dtype.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from ..interpreter import run_node
from ..ir import Graph, Literal, Value
from ..ops.registry import get_op
from ..shapes import is_static

FOLD_MAX_ELEMENTS = 1 << 16


def _is_constant(g: Graph, v: Value) -> bool:
    return g.op(v.node) == "constant"


def _const_array(g: Graph, v: Value) -> np.ndarray:
    return g.attrs(v.node)["value"].array


def _uniform_value(g: Graph, v: Value):
    """The single value of a constant whose elements are all equal (else None)."""
    if not _is_constant(g, v):
        return None
    a = _const_array(g, v)
    if a.dtype == object or a.size == 0:
        return None
    first = a.flat[0]
    return first if np.all(a == first) else None


def constant_fold(g: Graph) -> Graph:
    """Evaluate ops whose operands are all constants with the op's numpy reference."""
    for n in g.topo():
        d = g.nodes[n]
        opdef = get_op(d["op"])
        if opdef.kind == "source" or opdef.stateful or opdef.kind == "composite":
            continue
        if d["op"] == "broadcast_to":
            continue  # a broadcast constant stays an index map; folding it would bloat a literal
        operands = g.operands(n)
        if not operands or not all(_is_constant(g, v) for v in operands):
            continue
        if not all(is_static(t.shape) for t in d["outputs"]):
            continue
        out_elems = sum(int(np.prod(t.shape, dtype=np.int64)) for t in d["outputs"])
        in_elems = max(_const_array(g, v).size for v in operands)
        if out_elems > max(FOLD_MAX_ELEMENTS, in_elems):
            continue  # folding would bloat the program with a large literal
        try:
            results = run_node(g, n, [_const_array(g, v) for v in operands])
        except Exception:
            continue  # leave it to run time, where the error is reported with its location
        for i, arr in enumerate(results):
            c = g.add_op("constant", [], {"value": Literal(arr)}, name=d["name"], loc=d.get("loc"))
            g.replace_uses(Value(n, i), Value(c, 0))
    return dce(g)


def _same_type(g: Graph, a: Value, b: Value) -> bool:
    return g.value_type(a) == g.value_type(b)


def _rewrite(g: Graph, n: int):
    """The value node n can be replaced with, or None."""
    op = g.op(n)
    attrs = g.attrs(n)
    ops = g.operands(n)
    out = Value(n, 0)
    if op in ("identity", "stop_gradient"):
        return ops[0]
    if op in ("add", "sub", "mul", "div", "pow") and len(ops) == 2:
        x, y = ops
        neutral = 0 if op in ("add", "sub") else 1
        if _uniform_value(g, y) == neutral and _same_type(g, x, out) and _uniform_value(g, y) is not None:
            return x
        if op in ("add", "mul") and _uniform_value(g, x) == neutral and _uniform_value(g, x) is not None \
                and _same_type(g, y, out):
            return y
    if op == "neg" and g.op(ops[0].node) == "neg":
        return g.operands(ops[0].node)[0]
    if op in ("cast", "reshape", "broadcast_to") and _same_type(g, ops[0], out):
        return ops[0]
    if op == "transpose" and tuple(attrs["perm"]) == tuple(range(len(attrs["perm"]))):
        return ops[0]
    if op.startswith("reduce_") and get_op(op).kind == "reduce" and not attrs["axes"] and _same_type(g, ops[0], out):
        return ops[0]
    return None


def _fold_chains(g: Graph, n: int) -> bool:
    """reshape(reshape(x)) -> reshape(x); transpose(transpose(x)) -> transpose(x);
    matmul(transpose(a)) -> matmul with the transpose flag flipped. Returns True if changed."""
    op = g.op(n)
    ops = g.operands(n)
    if op == "reshape" and g.op(ops[0].node) == "reshape":
        g.set_operand(n, 0, g.operands(ops[0].node)[0])
        return True
    if op == "transpose" and g.op(ops[0].node) == "transpose":
        inner = g.attrs(ops[0].node)["perm"]
        outer = g.attrs(n)["perm"]
        g.nodes[n]["attrs"] = g.attrs(n).replace(perm=tuple(inner[p] for p in outer))
        g.set_operand(n, 0, g.operands(ops[0].node)[0])
        return True
    if op == "matmul":
        changed = False
        for slot, flag in ((0, "transpose_a"), (1, "transpose_b")):
            src = g.operands(n)[slot]
            if g.op(src.node) != "transpose":
                continue
            perm = tuple(g.attrs(src.node)["perm"])
            r = len(perm)
            if r >= 2 and perm == tuple(range(r - 2)) + (r - 1, r - 2):
                g.nodes[n]["attrs"] = g.attrs(n).replace(**{flag: not g.attrs(n)[flag]})
                g.set_operand(n, slot, g.operands(src.node)[0])
                changed = True
        return changed
    return False


def algebraic_simplify(g: Graph) -> Graph:
    for n in g.topo():
        if n not in g:
            continue
        if get_op(g.op(n)).stateful:
            continue
        if _fold_chains(g, n):
            continue
        if len(g.output_types(n)) != 1:
            continue
        repl = _rewrite(g, n)
        if repl is not None and repl != Value(n, 0):
            g.replace_uses(Value(n, 0), repl)
    return dce(g)


def cse(g: Graph) -> Graph:
    """Merge nodes computing the same op on the same operands (never stateful ones)."""
    seen: dict = {}
    for n in g.topo():
        d = g.nodes[n]
        opdef = get_op(d["op"])
        if opdef.stateful or d["op"] == "parameter":
            continue
        key = (d["op"], d["attrs"], tuple(g.operands(n)))
        other = seen.get(key)
        if other is None:
            seen[key] = n
            continue
        for i in range(len(d["outputs"])):
            g.replace_uses(Value(n, i), Value(other, i))
    return dce(g)


def dce(g: Graph) -> Graph:
    """Drop nodes that no graph output depends on (parameters stay: they are the signature)."""
    live = set()
    for v in g.graph["outputs"]:
        if v.node not in live:
            live.add(v.node)
            live |= nx.ancestors(g, v.node)
    live |= set(g.graph["inputs"])
    g.remove_nodes_from([n for n in list(g) if n not in live])
    return g
