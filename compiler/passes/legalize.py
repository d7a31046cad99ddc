"""Legalization: rewrite what the code generator cannot take as is into what it can.

- A batched matmul whose operands broadcast their batch dims only partially (e.g.
  [2,1,m,k] @ [3,k,n]) gets explicit `broadcast_to`s: the matmul kernel addresses each
  operand's batch with a single stride (0 for a fully broadcast operand).
"""
from __future__ import annotations

from ..builder import Emitter
from ..ir import Graph


def legalize(g: Graph) -> Graph:
    for n in list(g.topo()):
        if g.op(n) != "matmul":
            continue
        out_batch = tuple(g.output_types(n)[0].shape[:-2])
        if not out_batch:
            continue
        em = Emitter(g, loc=g.nodes[n].get("loc"), prefix=g.nodes[n]["name"])
        for slot, v in enumerate(g.operands(n)):
            shape = tuple(g.value_type(v).shape)
            own = shape[:-2]
            padded = (1,) * (len(out_batch) - len(own)) + own
            if all(d == 1 for d in own) or padded == out_batch:
                continue
            full = em.broadcast_to(v, shape=out_batch + shape[-2:], name="broadcast_batch")
            g.set_operand(n, slot, full)
    return g
