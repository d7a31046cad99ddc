"""`tf.gradients` in graph mode: gradients are an IR transform, not frontend ops.

`gradients(ys, xs)` records ONE frontend op of type `gradients` whose inputs are the ys, the
xs and any grad_ys, with one output per connected x (x's static shape and dtype). When the
graph is replayed for a `Session.run` or a `fuseflow.function`, the replay handler below
calls `compiler.passes.autodiff.gradients` on the replayed IR values, so forward, backward and
optimizer updates become one compiled program.

Which xs get `None` is decided here, on the frontend graph, as TF decides it: an x is
connected when some path from it to a y runs through floating-point tensors and
differentiable ops only (integer/bool tensors, `stop_gradient` and ops without gradients cut
paths). Variables are differentiated through every read of them in the graph, like TF's
resource variables.
"""
from __future__ import annotations

import enum

import numpy as np

from fuseflow.compiler.ops.registry import get_op

from . import graph as graph_mod
from .build import replay_handler
from .core import convert_to_tensor
from .tensor import EagerTensor, Tensor

# Frontend-only op types that no gradient flows through (sources, state updates, control).
NON_DIFFERENTIABLE_FRONTEND_OPS = {
    "placeholder", "placeholder_with_default_value", "no_op", "constant", "stop_gradient",
    "assign", "assign_add", "assign_sub", "variable", "var_handle", "var_is_initialized",
    "is_variable_initialized", "random_uniform", "random_normal", "truncated_normal", "random_shuffle",
    "multinomial", "queue_dequeue", "iterator_get_next", "read_file",
}


class UnconnectedGradients(enum.Enum):
    """What `tf.gradients` / `GradientTape.gradient` return for an x that y does not depend on."""
    NONE = "none"
    ZERO = "zero"


class AggregationMethod:
    """Accepted for TF compatibility; gradient sums are always added in one fused expression."""
    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


def is_backpropagatable(dtype) -> bool:
    return bool(dtype.is_floating) or getattr(dtype, "is_complex", False)


def op_is_differentiable(op) -> bool:
    """Whether gradients flow from an Operation's outputs to its inputs."""
    t = op.ir_op
    if t in NON_DIFFERENTIABLE_FRONTEND_OPS:
        return False
    flag = getattr(op, "_differentiable", None)      # frontend ops may declare it themselves
    if flag is not None:
        return bool(flag)
    try:
        opdef = get_op(t)
    except NotImplementedError:
        return True          # frontend-only op replayed into differentiable IR (reads, identity...)
    return bool(opdef.differentiable) and not opdef.stateful


def _flat(x) -> list:
    if isinstance(x, (list, tuple)):
        out = []
        for v in x:
            out.extend(_flat(v))
        return out
    return [x]


# --------------------------------------------------------------------------- variables
def variable_of(x):
    """The Variable object behind `x` (a Variable or a tensor read from one), else None."""
    if isinstance(x, (Tensor, EagerTensor)):
        return getattr(x.op, "_variable", None) if isinstance(x, Tensor) else None
    if hasattr(x, "_as_tensor") and not isinstance(x, (Tensor, EagerTensor)):
        return x
    return None


def _reads_by_variable(graph) -> dict:
    """id(variable) -> every tensor in `graph` reading its value (TF differentiates a resource
    variable through all of its reads)."""
    reads: dict = {}
    for op in graph.get_operations():
        if op.ir_op == "read_variable":
            var = getattr(op, "_variable", None)
            if var is not None:
                reads.setdefault(id(var), []).append(op.outputs[0])
    return reads


def _x_tensor(x, graph):
    """The tensor that stands for x inside the gradients op (a fresh read for variables)."""
    if isinstance(x, Tensor):
        return x
    var = variable_of(x)
    if var is not None:
        return _graph_read(var, graph)
    if isinstance(x, EagerTensor):
        raise TypeError("tf.gradients: xs must be graph tensors or variables, got an eager tensor")
    raise TypeError(f"tf.gradients: cannot differentiate with respect to {x!r}")


def _graph_read(var, graph):
    read = getattr(var, "_graph_value", None)
    t = read(graph) if read is not None else var._as_tensor()
    if not isinstance(t, Tensor):
        raise TypeError(f"tf.gradients: variable {getattr(var, 'name', var)} has no value in this graph")
    return t


# --------------------------------------------------------------------------- connectivity
def reachable_from(ys, stop=()) -> set:
    """Tensors some y depends on through differentiable float paths (backward reachability).
    A `stop` tensor is reached (ys can be differentiated with respect to it) but not crossed."""
    stop = set(stop)
    seen: set = set()
    stack = list(ys)
    while stack:
        t = stack.pop()
        if t in seen or not is_backpropagatable(t.dtype):
            continue
        seen.add(t)
        if t in stop:
            continue
        op = t.op
        if op_is_differentiable(op):
            stack.extend(op.inputs)
    return seen


def _connected(x, var, reach, reads) -> bool:
    if var is not None:
        return any(r in reach for r in reads.get(id(var), ())) or (isinstance(x, Tensor) and x in reach)
    return x in reach


# --------------------------------------------------------------------------- the API
def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None,
              unconnected_gradients=UnconnectedGradients.NONE):
    """Symbolic partial derivatives of sum(ys) with respect to each x in xs (graph mode)."""
    if not graph_mod.graph_is_active() and not any(isinstance(y, Tensor) for y in _flat(ys)):
        raise RuntimeError("tf.gradients is not supported when eager execution is enabled. "
                           "Use tf.GradientTape instead.")
    unconnected_gradients = UnconnectedGradients(unconnected_gradients)
    ys = [convert_to_tensor(y) if not isinstance(y, Tensor) else y for y in _flat(ys)]
    xs_list = _flat(xs)
    g = ys[0].graph if not graph_mod._graph_stack else graph_mod.get_default_graph()
    grad_ys_list = [None] * len(ys) if grad_ys is None else _flat(grad_ys)
    if len(grad_ys_list) != len(ys):
        raise ValueError(f"tf.gradients: passed {len(grad_ys_list)} grad_ys for {len(ys)} ys")
    stop_list = _flat(stop_gradients or [])
    stops = [_x_tensor(s, g) if not isinstance(s, Tensor) else s for s in stop_list]
    reads = _reads_by_variable(g)
    frontend_stops = list(stops)
    for s_ in stop_list:
        var = variable_of(s_)
        if var is not None:
            frontend_stops.extend(reads.get(id(var), ()))
    reach = reachable_from(ys, stop=frontend_stops)
    x_tensors, connected = [], []
    for x in xs_list:
        if x is None:
            raise TypeError("tf.gradients: xs contains None")
        var = variable_of(x)
        xt = _x_tensor(x, g)
        x_tensors.append(xt)
        connected.append(_connected(xt, var, reach, reads) and is_backpropagatable(xt.dtype))

    results: list = [None] * len(xs_list)
    live = [i for i, c in enumerate(connected) if c]
    if live:
        results = _gradients_op(g, ys, [x_tensors[i] for i in live], grad_ys_list, stops, name, live,
                                len(xs_list))
    if unconnected_gradients is UnconnectedGradients.ZERO:
        from .array_ops import zeros_like
        results = [r if r is not None else zeros_like(x_tensors[i]) for i, r in enumerate(results)]
    return results


def _gradients_op(g, ys, xs, grad_ys, stops, name, live, n_xs):
    inputs = list(ys) + list(xs)
    has_grad_ys = []
    for y, gy in zip(ys, grad_ys):
        if gy is None:
            has_grad_ys.append(False)
            continue
        gy = gy if isinstance(gy, Tensor) else convert_to_tensor(gy, dtype=y.dtype)
        inputs.append(gy)
        has_grad_ys.append(True)
    inputs.extend(stops)
    attrs = {"num_ys": len(ys), "num_xs": len(xs), "has_grad_ys": tuple(has_grad_ys),
             "num_stops": len(stops)}
    specs = [(x.dtype, x.shape) for x in xs]
    loc = graph_mod.user_location(g.get_name_scope())
    op = g.create_op("gradients", inputs, attrs, specs, name=_op_name(name), loc=loc)
    results: list = [None] * n_xs
    for i, t in zip(live, op.outputs):
        results[i] = t
    return results


def _op_name(name) -> str:
    return name or "gradients"


@replay_handler("gradients")
def _replay_gradients(ctx, op, inputs):
    """Differentiate the replayed IR: ys, xs (and grad_ys) are already IR values here."""
    from fuseflow.compiler.passes.autodiff import gradients as ir_gradients
    a = op.attrs
    n_y, n_x = a["num_ys"], a["num_xs"]
    ys, xs = inputs[:n_y], inputs[n_y:n_y + n_x]
    rest = inputs[n_y + n_x:]
    grad_ys, k = [], 0
    for has in a["has_grad_ys"]:
        grad_ys.append(rest[k] if has else None)
        k += int(has)
    stops = rest[k:k + a.get("num_stops", 0)]
    em = ctx.emitter(op)
    if stops:
        cuts = _cut_at(ctx.graph, em, stops)
        # an x that is itself a stop tensor is differentiated at its cut (TF: d(a + b)/db = 1
        # with stop_gradients=[a, b])
        xs = [cuts.get((x.node, x.out), x) for x in xs]
    grads = ir_gradients(ctx.graph, list(ys), list(xs),
                         grad_ys if any(gy is not None for gy in grad_ys) else None)
    out = []
    for x, gr in zip(xs, grads):
        if gr is None:                      # connected in the frontend graph, no IR path (e.g. int cast)
            t = ctx.graph.value_type(x)
            gr = em.broadcast_to(em.constant(np.zeros((), t.dtype.np)), shape=tuple(t.shape))
        out.append(gr)
    return out


def _cut_at(g, em, stops):
    """`stop_gradients=`: route every use of a stop tensor through stop_gradient (an identity
    in the forward program), so autodiff treats it as a constant."""
    cuts = {}
    for v in stops:
        users = g.users(v.node, v.out)
        if not users:
            continue
        cut = em.emit("stop_gradient", v)
        for user, slot in users:
            if user != cut.node:
                g.set_operand(user, slot, cut)
        cuts[(v.node, v.out)] = cut
    return cuts
