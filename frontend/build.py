"""Replay part of a frontend graph into a compiler IR graph, once input types are known.

TF1 placeholders may have unknown dims or rank, and `fuseflow.function` signatures have None
dims; the frontend graph keeps what is known for the user, and the IR is built from the ops
needed for the requested fetches, with concrete (or symbolic) input types. Replaying re-runs
the compiler's type rules, so errors carry the op, the shapes and the user's line.

Frontend-only op types (placeholders, variables, no_op, ...) are replayed by handlers
registered with `replay_handler`; everything else maps 1:1 onto a compiler op.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from fuseflow.compiler import interpret
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.ir import Graph, TensorType, Value

from .tensor import Tensor

_HANDLERS: dict = {}


def replay_handler(op_type: str):
    """Register `fn(ctx, op, inputs: list[Value]) -> list[Value]` for a frontend-only op type."""
    def deco(fn):
        _HANDLERS[op_type] = fn
        return fn
    return deco


class FeedError(ValueError):
    pass


@dataclass
class ReplayContext:
    graph: Graph
    feeds: dict                                   # Tensor -> TensorType of the fed value
    values: dict = field(default_factory=dict)    # Tensor -> Value
    params: list = field(default_factory=list)    # Tensors bound to graph inputs, in order
    extra: dict = field(default_factory=dict)     # caller state (e.g. the session's variables)
    handlers: dict = field(default_factory=dict)  # per-call overrides of _HANDLERS

    def emitter(self, op) -> Emitter:
        return Emitter(self.graph, loc=op.loc)

    def add_parameter(self, tensor, ttype: TensorType, key=None) -> Value:
        em = Emitter(self.graph, loc=getattr(tensor.op, "loc", None) if hasattr(tensor, "op") else None)
        v = em.emit("parameter", index=len(self.params), shape=tuple(ttype.shape), dtype=ttype.dtype,
                    name=getattr(tensor, "name", str(key)).split(":")[0])
        self.graph.graph["inputs"].append(v.node)
        self.params.append(key if key is not None else tensor)
        return v

    def static_value(self, tensor: Tensor) -> np.ndarray:
        """Evaluate a tensor that must be computable from constants alone (shape arguments)."""
        v = self.value_of(tensor)
        sub = Graph()
        sub.add_nodes_from((n, dict(d)) for n, d in self.graph.nodes(data=True))
        sub.add_edges_from((a, b, dict(d)) for a, b, d in self.graph.edges(data=True))
        needed = {v.node} | _ancestors(self.graph, v.node)
        if any(self.graph.nodes[n]["op"] == "parameter" for n in needed):
            raise ValueError(f"{tensor.name} must be a compile-time constant here (it depends on a fed or "
                             f"variable value); fuseflow compiles static shapes and sizes")
        sub.remove_nodes_from([n for n in list(sub) if n not in needed])
        sub.graph["inputs"] = []
        sub.graph["outputs"] = [v]
        return interpret(sub, [])[0]

    def value_of(self, tensor: Tensor) -> Value:
        return self.values[tensor]


def _ancestors(g, n):
    import networkx as nx
    return nx.ancestors(g, n)


def needed_ops(fetch_ops, feeds) -> list:
    """Operations required to compute the fetches (data and control inputs), in creation order."""
    seen, stack = {}, list(fetch_ops)
    while stack:
        op = stack.pop()
        if op.id in seen:
            continue
        seen[op.id] = op
        if all(t in feeds for t in op.outputs) and op.outputs:
            continue
        for t in op.inputs:
            if t not in feeds:
                stack.append(t.op)
        for v in op.attrs.values():
            if isinstance(v, Tensor) and v not in feeds:
                stack.append(v.op)
        stack.extend(op.control_inputs)
    return [seen[i] for i in sorted(seen)]


def replay(fetch_ops, feeds: dict, *, extra: Optional[dict] = None, handlers: Optional[dict] = None,
           graph: Optional[Graph] = None) -> ReplayContext:
    ctx = ReplayContext(graph if graph is not None else Graph(), feeds, extra=extra or {},
                        handlers=handlers or {})
    for op in needed_ops(fetch_ops, feeds):
        fed = [t for t in op.outputs if t in feeds]
        for t in fed:
            ctx.values[t] = ctx.add_parameter(t, feeds[t])
        if fed and len(fed) == len(op.outputs):
            continue
        handler = ctx.handlers.get(op.ir_op) or _HANDLERS.get(op.ir_op)
        inputs = [_value_of_input(ctx, t) for t in op.inputs]
        if handler is not None:
            outs = handler(ctx, op, inputs)
        else:
            outs = _replay_compiler_op(ctx, op, inputs)
        for t, v in zip(op.outputs, outs):
            if t not in ctx.values:
                ctx.values[t] = v
    return ctx


def _value_of_input(ctx: ReplayContext, t: Tensor) -> Value:
    """A fed input's producer is not traversed (needed_ops stops at feeds): bind it on first use."""
    v = ctx.values.get(t)
    if v is None and t in ctx.feeds:
        v = ctx.values[t] = ctx.add_parameter(t, ctx.feeds[t])
    return ctx.values[t] if v is None else v


def _replay_compiler_op(ctx: ReplayContext, op, inputs) -> list:
    attrs = {}
    for k, v in op.attrs.items():
        if isinstance(v, Tensor):
            try:
                arr = ctx.static_value(v)
            except (KeyError, ValueError):  # KeyError: the attr tensor itself is fed (never replayed)
                at = f" at {op.loc}" if op.loc else ""
                raise ValueError(f"{op.ir_op} '{op.name}'{at}: argument {k!r} ({v.name}) must be a compile-time "
                                 f"constant (it is fed or depends on a fed or variable value); fuseflow "
                                 f"compiles static shapes and sizes") from None
            if arr.ndim == 0:      # a scalar attr (range's start/limit/delta): a Python number
                v = arr.item()
            else:
                v = tuple(int(x) for x in np.ravel(arr)) if arr.dtype.kind in "iu" else arr
        attrs[k] = v
    em = ctx.emitter(op)
    return em.emit_multi(op.ir_op, *inputs, name=op.name, **attrs)


@replay_handler("constant")
def _replay_constant(ctx, op, inputs):
    return [ctx.emitter(op).emit("constant", value=op.attrs["value"].array, name=op.name)]


@replay_handler("placeholder")
def _replay_placeholder(ctx, op, inputs):
    t = op.outputs[0]
    shape = "<unknown>" if t.shape.rank is None else "[" + ",".join("?" if d is None else str(d) for d in t.shape.as_list()) + "]"
    raise FeedError(f"You must feed a value for placeholder tensor '{op.name}' with dtype {t.dtype.name} "
                    f"and shape {shape}" + (f" (created at {op.loc})" if op.loc else ""))


@replay_handler("placeholder_with_default")
def _replay_placeholder_default(ctx, op, inputs):
    return [inputs[0]]


@replay_handler("no_op")
def _replay_no_op(ctx, op, inputs):
    return []
