"""Control dependencies and grouping: `tf.control_dependencies`, `group`, `no_op`, `tuple`,
`with_dependencies`, and `cond`.

A NoOp (TF's op type name) computes nothing; running it runs its control inputs. Ordering
between assignments and reads follows the rules documented in variables.py.

`cond(pred, true_fn, false_fn)`: with a Python or constant predicate only the chosen branch is
built (as TF does for static predicates). With a runtime predicate both branches are built
and each output is `select(pred, t, f)`: branches must be free of side effects (assignments,
queue ops), which is checked.
"""
from __future__ import annotations

import contextlib

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .build import replay_handler
from .core import apply_op, convert_to_tensor
from .graph import Operation, _as_op
from .needs_eager import NeedsEagerExecution
from .tensor import EagerTensor, Tensor

NO_OP = "NoOp"


@replay_handler(NO_OP)
def _replay_no_op(ctx, op, inputs):
    return []


def _graph_mode() -> bool:
    return graph_mod.graph_is_active()


def control_dependencies(control_inputs):
    """Ops created in the block run after `control_inputs` (a list of ops/tensors, or None to
    clear the dependencies of enclosing blocks). Eager code runs in order: a no-op there."""
    if not _graph_mode():
        if control_inputs is not None:
            for c in control_inputs:
                if callable(c) and not isinstance(c, (Operation, Tensor)):
                    c()
        return contextlib.nullcontext()
    g = graph_mod.get_default_graph()
    if control_inputs is not None:
        control_inputs = [_as_dep(c) for c in control_inputs]
    return g.control_dependencies(control_inputs)


def _as_dep(c):
    if hasattr(c, "_as_graph_element") and not isinstance(c, (Operation, Tensor)):
        # A variable as a control input: TF depends on its graph element (the creation-time read).
        c = c._as_graph_element()
    op = _as_op(c)
    if op is None:
        if isinstance(c, (list, tuple)):
            raise TypeError(f"Control input must be an Operation or Tensor, got a nested {type(c).__name__}")
        raise TypeError(f"Can not convert a {type(c).__name__} into a Tensor or Operation.")
    return op


def no_op(name=None):
    """An op that does nothing (its control inputs still run)."""
    if not _graph_mode():
        return None
    g = graph_mod.get_default_graph()
    loc = graph_mod.user_location(g.get_name_scope())
    return g.create_op(NO_OP, [], {}, [], name=name or "NoOp", loc=loc)


def group(*inputs, name=None):
    """One op that runs all `inputs` (ops, tensors, or nested lists of them)."""
    if not _graph_mode():
        return None
    deps = []
    for x in _flatten(inputs):
        if x is None:
            continue
        op = _as_dep(x)
        if op not in deps:
            deps.append(op)
    g = graph_mod.get_default_graph()
    with g.control_dependencies(deps):
        return no_op(name=name or "group_deps")


def _flatten(x):
    if isinstance(x, dict):
        for k in sorted(x):
            yield from _flatten(x[k])
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _flatten(v)
    else:
        yield x


def with_dependencies(dependencies, output_tensor, name=None):
    """`output_tensor`'s value, produced after every op in `dependencies` ran."""
    from .array_ops import identity
    if not _graph_mode():
        return output_tensor
    g = graph_mod.get_default_graph()
    with g.name_scope(name or "control_dependency") as scope:
        with g.control_dependencies([_as_dep(d) for d in dependencies]):
            if isinstance(output_tensor, Operation):
                return group(output_tensor, name=scope)
            return identity(convert_to_tensor(output_tensor), name=scope)


def tuple_(tensors, name=None, control_inputs=None):
    """The tensors, each gated on all of them (and `control_inputs`) having been computed."""
    from .array_ops import identity
    if not _graph_mode():
        return list(tensors)
    g = graph_mod.get_default_graph()
    tensors = list(tensors)
    with g.name_scope(name or "tuple") as scope:
        deps = [t for t in tensors if t is not None]
        if control_inputs:
            deps = deps + list(control_inputs)
        gate = group(*deps, name=None)
        out = []
        for t in tensors:
            if t is None:
                out.append(None)
            elif isinstance(t, Operation):
                out.append(with_dependencies([gate], t))
            else:
                with g.control_dependencies([gate]):
                    out.append(identity(convert_to_tensor(t)))
        return out



# ------------------------------------------------------------------------------ cond
_SIDE_EFFECT_OPS = {"assign", "assign_add", "assign_sub"}


def _static_pred(pred):
    if isinstance(pred, (bool, np.bool_)):
        return bool(pred)
    if isinstance(pred, (int, np.integer)):
        return bool(pred)
    if isinstance(pred, EagerTensor):
        return bool(pred._value)
    if isinstance(pred, Tensor) and pred.op.ir_op == "constant":
        return bool(pred.op.attrs["value"].array)
    if hasattr(pred, "_as_tensor") and not isinstance(pred, Tensor):
        return None
    return None


class _AssignmentGuard:
    """While a runtime-predicate cond branch is built, variable assignments in it are made
    conditional: the assigned value becomes select(predicate, value, current value) (a delta
    becomes select(predicate, delta, 0)), which is what TF's branch-only execution does to the
    variable. The guarded assignment ops are recorded so `cond` accepts them as side effects."""

    def __init__(self, graph, predicate):
        self.graph = graph
        self.predicate = predicate
        self.ops: list = []


_guards: list = []


def assignment_guard(graph):
    """The innermost active guard of `graph` (None outside runtime cond branches)."""
    for guard in reversed(_guards):
        if guard.graph is graph:
            return guard
    return None


@contextlib.contextmanager
def _guarding(graph, predicate):
    guard = _AssignmentGuard(graph, predicate)
    _guards.append(guard)
    try:
        yield guard
    finally:
        _guards.remove(guard)


def guard_assignment(guard, op_type, value, variable):
    """The value an assignment built under `guard` writes (see _AssignmentGuard)."""
    if op_type == "assign":
        current = variable.read_value() if hasattr(variable, "read_value") else convert_to_tensor(variable)
        return apply_op("select", [guard.predicate, value, current], {}, name="GuardedValue")
    from .array_ops import zeros_like
    return apply_op("select", [guard.predicate, value, zeros_like(value)], {}, name="GuardedDelta")


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """`true_fn()` if pred else `false_fn()`, with TF's output structure rules."""
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("cond: true_fn and false_fn must be callable")
    static = _static_pred(pred)
    if static is not None:
        return true_fn() if static else false_fn()
    g = graph_mod.get_default_graph()
    pred_t = convert_to_tensor(pred)
    if pred_t.dtype != dt.bool_ or (pred_t.shape.rank not in (None, 0)):
        raise ValueError(f"cond: pred must be a scalar bool tensor, got {pred_t!r}")
    from .math_ops import logical_and, logical_not
    outer = assignment_guard(g)
    with g.name_scope(name or "cond"):
        before = len(g.get_operations())
        with g.name_scope("true"):
            t_pred = pred_t if outer is None else logical_and(outer.predicate, pred_t)
            with _guarding(g, t_pred) as t_guard:
                t_out = true_fn()
        # Both branches run; the false branch's ops come after the true branch's (guarded)
        # assignments, so a variable both branches assign ends with the taken branch's value.
        after_true = g.control_dependencies(list(t_guard.ops)) if t_guard.ops else contextlib.nullcontext()
        with g.name_scope("false"), after_true:
            f_pred = logical_not(pred_t)
            f_pred = f_pred if outer is None else logical_and(outer.predicate, f_pred)
            with _guarding(g, f_pred) as f_guard:
                f_out = false_fn()
        created = g.get_operations()[before:]
    guarded = {id(op) for op in t_guard.ops + f_guard.ops}
    # variables created in a branch (e.g. ExponentialMovingAverage shadows) initialise unconditionally
    for key in ("variables", "local_variables"):
        for v in g.get_collection(key):
            init = getattr(v, "initializer", None)
            if init is not None:
                guarded.add(id(init))
    if outer is not None:
        outer.ops.extend(t_guard.ops + f_guard.ops)
    effects = [op for op in created if (op.ir_op in _SIDE_EFFECT_OPS and id(op) not in guarded)
               or op.ir_op.startswith("queue_")]
    if effects:
        raise NotImplementedError(
            f"tf.cond with a runtime predicate: a branch has side effects ({effects[0].type} '{effects[0].name}'). "
            f"fuseflow computes both branches and selects the outputs, so only variable assignments (made "
            f"conditional) are allowed in branches; move this op out of the cond")
    return _select_structure(pred_t, t_out, f_out)


def _select_structure(pred, a, b):
    if isinstance(a, (list, tuple)) and not isinstance(a, str):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            raise ValueError("cond: true_fn and false_fn must return the same structure")
        out = [_select_structure(pred, x, y) for x, y in zip(a, b)]
        return type(a)(*out) if hasattr(a, "_fields") else type(a)(out)
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            raise ValueError("cond: true_fn and false_fn must return the same structure")
        return {k: _select_structure(pred, a[k], b[k]) for k in a}
    if a is None and b is None:
        return None
    if isinstance(a, Operation) or isinstance(b, Operation):
        return group(a, b)
    x = convert_to_tensor(a)
    y = convert_to_tensor(b, dtype=x.dtype) if not isinstance(b, Tensor) else b
    if x.dtype != y.dtype:
        raise ValueError(f"cond: branches return different dtypes ({x.dtype.name} vs {y.dtype.name})")
    return apply_op("select", [pred, x, y], {}, name="Merge")


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """First branch whose predicate holds (chained conds), else `default`."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    if default is None:
        if not pairs:
            raise ValueError("case: no branches and no default")
        pairs, (_, default) = pairs[:-1], pairs[-1]
    result_fn = default
    for pred, fn in reversed(pairs):
        result_fn = (lambda p, f, rest: (lambda: cond(p, f, rest)))(pred, fn, result_fn)
    return result_fn()


__all__ = ["control_dependencies", "no_op", "group", "with_dependencies", "tuple_", "cond", "case"]


# ------------------------------------------------------------------------------ while_loop
UNROLL_LIMIT = 10000


def _static_eval(t, env: dict):
    """t's value when the tensors in `env` have the given values and nothing else is fed, or
    None when it depends on something only known at run time (feeds, variables, RNG)."""
    from fuseflow.compiler import interpret
    from fuseflow.compiler.ir import TensorType

    from .array_ops import static_value
    from .build import FeedError, replay
    from .errors import OpError
    if not isinstance(t, Tensor):
        return None if t is None else np.asarray(t._value if isinstance(t, EagerTensor) else t)
    if t in env:
        return env[t]
    if not env:
        return static_value(t)
    feeds = {x: TensorType(tuple(v.shape), x.dtype) for x, v in env.items()}
    try:
        ctx = replay([t.op], feeds)
        ctx.graph.graph["outputs"] = [ctx.values[t]]
        if any(not isinstance(k, Tensor) or k not in env for k in ctx.params):
            return None
        return interpret(ctx.graph, [env[k] for k in ctx.params])[0]
    except (FeedError, OpError, ValueError, TypeError, KeyError, NotImplementedError):
        return None


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, name=None, maximum_iterations=None, return_same_structure=False):
    """Repeat `body` while `cond` holds.

    Eager: a Python loop. Graph mode: fuseflow's compiled programs have no loops, so the loop
    is UNROLLED while the graph is built. This needs the trip count to be known then: `cond`
    must be computable from loop variables that start as constants and stay computable
    (a counter `i < n`), while the other loop variables may depend on anything (feeds,
    variables). Gradients flow through the unrolled ops. A condition on run-time values
    raises NotImplementedError naming the loop."""
    from . import nest
    from .core import convert_to_tensor
    if not callable(cond) or not callable(body):
        raise TypeError("while_loop: cond and body must be callable")
    single = not nest.is_nested(loop_vars)
    structure = loop_vars

    def pack(flat):
        return flat[0] if single else nest.pack_sequence_as(structure, flat)

    def call(fn, flat):
        return fn(flat[0]) if single else fn(*flat) if isinstance(structure, (list, tuple)) and \
            not hasattr(structure, "_fields") else fn(pack(flat))

    from .tensor_array import TensorArray      # carried as a Python object

    def as_loop_value(v):
        # TensorArrays are carried as they are (a value object over already-built tensors)
        if isinstance(v, TensorArray):
            return v
        return convert_to_tensor(v) if not hasattr(v, "_as_tensor") else v._as_tensor()

    flat = [as_loop_value(v) for v in nest.flatten(loop_vars)]
    if not _graph_mode() and not any(isinstance(v, Tensor) for v in flat):
        it = 0
        while maximum_iterations is None or it < int(maximum_iterations):
            if not bool(np.asarray(_eager_value(call(cond, flat)))):
                break
            out = call(body, flat)
            flat = [as_loop_value(v) for v in (nest.flatten(out) if not single else [out])]
            it += 1
        return flat[0] if (len(flat) == 1 and not return_same_structure) else pack(flat)
    g = graph_mod.get_default_graph()
    max_iter = None if maximum_iterations is None else _static_eval(convert_to_tensor(maximum_iterations), {})
    with g.name_scope(name or "while") as scope:
        env = {}
        for v in flat:
            if isinstance(v, TensorArray):
                continue
            val = _static_eval(v, {})
            if val is not None:
                env[v] = val
        it = 0
        while True:
            if max_iter is not None and it >= int(max_iter):
                break
            c = call(cond, flat)
            value = _static_eval(convert_to_tensor(c), env)
            if value is None:
                raise NeedsEagerExecution(
                    "tf.while_loop",
                    f"tf.while_loop '{scope[:-1]}': the loop condition depends on values only known when the graph "
                    f"runs; fuseflow unrolls graph-mode loops, so the number of iterations must be computable "
                    f"while building the graph (e.g. a counter compared with a constant)")
            if not bool(np.asarray(value)):
                break
            if it >= UNROLL_LIMIT:
                raise NeedsEagerExecution("tf.while_loop", f"tf.while_loop '{scope[:-1]}': more than "
                                                           f"{UNROLL_LIMIT} iterations to unroll")
            out = call(body, flat)
            out_flat = [out] if single else nest.flatten(out)
            if len(out_flat) != len(flat):
                raise ValueError(f"tf.while_loop: body returned {len(out_flat)} loop variables, expected {len(flat)}")
            new = [as_loop_value(o) for o in out_flat]
            for old, nw in zip(flat, new):
                if isinstance(old, TensorArray) or isinstance(nw, TensorArray):
                    if not (isinstance(old, TensorArray) and isinstance(nw, TensorArray)):
                        raise TypeError("tf.while_loop: a TensorArray loop variable must stay a TensorArray")
                    continue
                if old.dtype != nw.dtype:
                    raise TypeError(f"tf.while_loop: a loop variable changed dtype from {old.dtype.name} to "
                                    f"{nw.dtype.name}")
            new_env = {}
            for nw in new:
                if isinstance(nw, TensorArray):
                    continue
                val = _static_eval(nw, env)
                if val is not None:
                    new_env[nw] = val
            flat, env = new, new_env
            it += 1
    if len(flat) == 1 and not return_same_structure:
        return flat[0]                       # TF returns a lone loop variable unpacked
    return pack(flat)


def _eager_value(x):
    if isinstance(x, EagerTensor):
        return x._value
    return x


# ------------------------------------------------------------------ map_fn / scan / foldl / foldr
# TF builds these on a while loop over the leading dimension. fuseflow unrolls graph-mode loops,
# so the leading dimension must be known while the graph is built; each element is sliced out,
# passed through `fn` and the results are stacked (gradients flow through the unrolled ops).

def _leading_elems(elems, fn_name):
    """(flat tensors, number of elements) of `elems`, all sharing a static leading dimension."""
    from . import nest
    flat = [convert_to_tensor(e) if not hasattr(e, "_as_tensor") else e._as_tensor() for e in nest.flatten(elems)]
    if not flat:
        raise ValueError(f"tf.{fn_name}: elems must be a Tensor or a (possibly nested) sequence of tensors")
    sizes = set()
    for t in flat:
        dims = t.shape.as_list() if t.shape.ndims is not None else None
        if not dims:
            raise ValueError(f"tf.{fn_name}: elements in elems must be 1+ dimensional, got {t.shape}")
        if dims[0] is None:
            raise NeedsEagerExecution(
                f"tf.{fn_name}",
                f"tf.{fn_name}: the leading dimension of elems ({t.shape}) is only known when the graph runs; "
                f"fuseflow unrolls the loop over it while building the graph, so it must be static")
        sizes.add(dims[0])
    if len(sizes) != 1:
        raise ValueError(f"tf.{fn_name}: all elems must have the same leading dimension, got {sorted(sizes)}")
    return flat, sizes.pop()


def _slices(flat, n):
    from .array_ops import unstack
    return [unstack(t, num=n, axis=0) for t in flat]


def _stack_results(results, fn_name):
    """Stack a list of per-element (nested) results along a new axis 0."""
    from . import nest
    from .array_ops import stack
    if not results:
        raise NotImplementedError(f"tf.{fn_name} over zero elements is not supported by fuseflow")
    flat = [nest.flatten(r) for r in results]
    stacked = [stack([convert_to_tensor(f[i]) for f in flat], axis=0) for i in range(len(flat[0]))]
    return nest.pack_sequence_as(results[0], stacked)


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None, fn_output_signature=None):
    """`fn` applied to each slice of `elems` along axis 0, results stacked (TF1 signature)."""
    from . import nest
    with contextlib.ExitStack() as stack_ctx:
        if _graph_mode():
            stack_ctx.enter_context(graph_mod.get_default_graph().name_scope(name or "map"))
        flat, n = _leading_elems(elems, "map_fn")
        slices = _slices(flat, n)
        results = []
        for i in range(n):
            item = nest.pack_sequence_as(elems, [s[i] for s in slices])
            results.append(fn(item))
        out = _stack_results(results, "map_fn")
        signature = fn_output_signature if fn_output_signature is not None else dtype
        if signature is not None:
            sig_flat = nest.flatten(signature)
            out_flat = nest.flatten(out)
            if len(sig_flat) != len(out_flat):
                raise ValueError(f"tf.map_fn: fn returned {len(out_flat)} values but the output signature has "
                                 f"{len(sig_flat)}")
            for o, d in zip(out_flat, sig_flat):
                want = dt.as_dtype(getattr(d, "dtype", d))
                if o.dtype != want:
                    raise TypeError(f"tf.map_fn: fn returned {o.dtype.name}, the output signature says "
                                    f"{want.name}")
        return out


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
         infer_shape=True, reverse=False, name=None):
    """Running `acc = fn(acc, x)` over the slices of `elems`; every accumulator value stacked.
    Without an initializer the first element starts the accumulation (and is the first output)."""
    from . import nest
    with contextlib.ExitStack() as stack_ctx:
        if _graph_mode():
            stack_ctx.enter_context(graph_mod.get_default_graph().name_scope(name or "scan"))
        flat, n = _leading_elems(elems, "scan")
        slices = _slices(flat, n)
        items = [nest.pack_sequence_as(elems, [s[i] for s in slices]) for i in range(n)]
        order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
        if initializer is None:
            acc = items[order[0]]
            outs = {order[0]: acc}
            order = order[1:]
        else:
            acc = nest.map_structure(convert_to_tensor, initializer)
            outs = {}
        for i in order:
            acc = fn(acc, items[i])
            outs[i] = acc
        return _stack_results([outs[i] for i in sorted(outs)], "scan")


def _fold(fn, elems, initializer, reverse, fn_name, name):
    from . import nest
    with contextlib.ExitStack() as stack_ctx:
        if _graph_mode():
            stack_ctx.enter_context(graph_mod.get_default_graph().name_scope(name or fn_name))
        flat, n = _leading_elems(elems, fn_name)
        slices = _slices(flat, n)
        items = [nest.pack_sequence_as(elems, [s[i] for s in slices]) for i in range(n)]
        order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
        if initializer is None:
            acc = items[order[0]]
            order = order[1:]
        else:
            acc = nest.map_structure(convert_to_tensor, initializer)
        for i in order:
            acc = fn(acc, items[i])
        return acc


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    return _fold(fn, elems, initializer, False, "foldl", name)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    return _fold(fn, elems, initializer, True, "foldr", name)
