"""Reverse-mode autodiff over the IR: gradient nodes are appended to the same graph.

`gradients(g, ys, xs, grad_ys)` walks the nodes that lie on a path from some x to some y in
reverse topological order. Each node's output gradients (the sum of all contributions, added
pairwise) go through its op's rule `grad(em, inputs, outputs, attrs, grads)`, which emits
the input gradients. Only floating-point values carry gradients: integer and bool paths,
`stop_gradient`, non-differentiable ops and unreachable xs give None (as tf.gradients).

Composite ops normally are decomposed before autodiff; if one is still present its
decomposition is emitted next to it and differentiated in place (CSE later merges that
copy with the decomposed forward pass).
"""
from __future__ import annotations

from typing import Optional, Sequence

import networkx as nx
import numpy as np

from ..builder import Emitter
from ..ir import Graph, IRError, Value
from ..ops.registry import get_op
from ..shapes import format_shape

GRAD_SCOPE = "gradients"


def gradients(g: Graph, ys: Sequence[Value], xs: Sequence[Value],
              grad_ys: Optional[Sequence[Optional[Value]]] = None, *, scope: str = GRAD_SCOPE) -> list:
    """d(sum of ys weighted by grad_ys)/d(each x): one Value (same type as x) or None per x."""
    ys = [Value(*y) for y in ys]
    xs = [Value(*x) for x in xs]
    grad_ys = list(grad_ys) if grad_ys is not None else [None] * len(ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"gradients: got {len(grad_ys)} grad_ys for {len(ys)} ys")
    seeds: dict = {}
    for y, gy in zip(ys, grad_ys):
        t = g.value_type(y)
        if not t.dtype.is_floating:
            continue
        if gy is None:
            gy = ones_like(Emitter(g, prefix=scope), y)
        else:
            gy = Value(*gy)
            _check_grad_type(g, y, gy, "grad_ys")
        seeds.setdefault(y, []).append(gy)
    grads = backprop(g, seeds, xs, scope)
    return [grads.get(x) for x in xs]


def ones_like(em: Emitter, v: Value) -> Value:
    t = em.type(v)
    one = em.constant(np.ones((), t.dtype.np))
    return one if not t.shape else em.broadcast_to(one, shape=tuple(t.shape))


def zeros_like(em: Emitter, v: Value) -> Value:
    t = em.type(v)
    zero = em.constant(np.zeros((), t.dtype.np))
    return zero if not t.shape else em.broadcast_to(zero, shape=tuple(t.shape))


def backprop(g: Graph, seeds: dict, xs: Sequence[Value], scope: str = GRAD_SCOPE, within=None) -> dict:
    """Propagate `seeds` ({Value: [gradient contributions]}) back to `xs`; returns {x: grad}.

    Only nodes on a path from an x to a seed are differentiated; `within` (a node set)
    restricts that further (a composite's own decomposition)."""
    x_nodes = {x.node for x in xs}
    x_values = set(xs)
    y_nodes = {y.node for y in seeds}
    reach_from_x = set(x_nodes)
    for n in x_nodes:
        reach_from_x |= nx.descendants(g, n)
    reach_to_y = set(y_nodes)
    for n in y_nodes:
        reach_to_y |= nx.ancestors(g, n)
    relevant = reach_from_x & reach_to_y
    if within is not None:
        relevant &= within
    order = list(nx.lexicographical_topological_sort(g.subgraph(relevant)))

    contributions: dict = {v: list(gs) for v, gs in seeds.items()}
    summed: dict = {}

    def total(v: Value) -> Optional[Value]:
        if v not in summed:
            parts = contributions.get(v, [])
            acc = None
            if parts:
                em = Emitter(g, loc=g.nodes[v.node].get("loc"), prefix=f"{scope}/{g.nodes[v.node]['name']}")
                acc = parts[0]
                for p in parts[1:]:
                    acc = em.add(acc, p)
            summed[v] = acc
        return summed[v]

    for n in reversed(order):
        d = g.nodes[n]
        n_out = len(d["outputs"])
        out_grads = [total(Value(n, i)) for i in range(n_out)]
        if all(og is None for og in out_grads):
            continue
        opdef = get_op(d["op"])
        em = Emitter(g, loc=d.get("loc"), prefix=f"{scope}/{d['name']}")
        inputs = g.operands(n)
        if opdef.kind == "composite":
            in_grads = _composite_grads(g, n, inputs, out_grads, em, scope)
        else:
            if opdef.grad is None or not opdef.differentiable:
                continue
            if n_out > 1:  # rules of multi-output ops get a gradient for every output
                out_grads = [og if og is not None else _zeros_or_none(em, Value(n, i))
                             for i, og in enumerate(out_grads)]
            outputs = [Value(n, i) for i in range(n_out)]
            in_grads = opdef.grad(em, inputs, outputs, d["attrs"], out_grads)
        if len(in_grads) != len(inputs):
            raise IRError(f"gradient of {g.describe(n)} returned {len(in_grads)} values for {len(inputs)} operands")
        for v, gv in zip(inputs, in_grads):
            if gv is None or not (v.node in relevant or v in x_values) or not g.value_type(v).dtype.is_floating:
                continue
            _check_grad_type(g, v, gv, f"gradient of {g.describe(n)}")
            contributions.setdefault(v, []).append(gv)
    return {x: total(x) for x in xs}


def _zeros_or_none(em, v):
    return zeros_like(em, v) if em.type(v).dtype.is_floating else None


def _composite_grads(g, n, inputs, out_grads, em, scope):
    from .decompose import expand
    # One identity per operand slot, so an operand used in two slots gets one gradient per slot.
    slots = [em.identity(v) for v in inputs]
    first_new = g.graph["next_id"]
    outs = expand(g, n, slots)
    decomposition = {m for m in g.nodes if m >= first_new}
    seeds = {}
    for v, og in zip(outs, out_grads):
        if og is not None and g.value_type(v).dtype.is_floating:
            seeds.setdefault(v, []).append(og)
    # Differentiate the decomposition only: the operands are leaves here, the outer walk
    # continues from them.
    grads = backprop(g, seeds, slots, scope, within=decomposition)
    return [grads.get(v) for v in slots]


def _check_grad_type(g: Graph, v: Value, gv: Value, what: str) -> None:
    t, gt = g.value_type(v), g.value_type(gv)
    same = t.dtype == gt.dtype and len(t.shape) == len(gt.shape) and all(
        a == b or not (isinstance(a, int) and isinstance(b, int)) for a, b in zip(t.shape, gt.shape))
    if not same:
        raise IRError(f"{what}: gradient for {g.describe(v.node)} output {v.out} has type "
                      f"{gt.dtype.name}{format_shape(gt.shape)}, expected {t.dtype.name}{format_shape(t.shape)}")
