"""`decompose`: rewrite every composite op (softmax, cross-entropies, stack, split, ...) into
the primitives its `decompose(em, inputs, attrs)` hook emits. Runs first in the pipeline,
before autodiff, so gradients flow through the primitives' rules.
"""
from __future__ import annotations

from ..builder import Emitter
from ..ir import Graph, IRError, Value
from ..ops.registry import get_op

MAX_ROUNDS = 8   # decompositions may emit composites; each round expands one level


def expand(g: Graph, n: int, operands=None) -> list:
    """Emit node n's decomposition next to it (on `operands`, default its own) and return the
    new values; n is left in place."""
    d = g.nodes[n]
    opdef = get_op(d["op"])
    em = Emitter(g, loc=d.get("loc"), prefix=d["name"])
    outs = list(opdef.decompose(em, list(operands) if operands is not None else g.operands(n), d["attrs"]))
    if len(outs) != len(d["outputs"]):
        raise IRError(f"{g.describe(n)}: decomposition returned {len(outs)} values for {len(d['outputs'])} outputs")
    for i, (v, t) in enumerate(zip(outs, d["outputs"])):
        if g.value_type(v) != t:
            raise IRError(f"{g.describe(n)}: decomposition of output {i} has type {g.value_type(v)}, expected {t}")
    return outs


def decompose(g: Graph) -> Graph:
    for _ in range(MAX_ROUNDS):
        composites = [n for n in g.topo() if get_op(g.op(n)).kind == "composite"]
        if not composites:
            return g
        for n in composites:
            for i, v in enumerate(expand(g, n)):
                g.replace_uses(Value(n, i), v)
            g.remove_node(n)
    leftover = [g.describe(n) for n in g.nodes if get_op(g.op(n)).kind == "composite"]
    if leftover:
        raise IRError(f"decompose: composite ops still present after {MAX_ROUNDS} rounds: {', '.join(leftover)}")
    return g
