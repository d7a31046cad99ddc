"""Python called from a graph: `tf.py_func` / `tf.numpy_function`, and TF1's `tf.Print`.

These run on the host (host_ops.py) when a Session run reaches them, between compiled
segments: the program is split there, so use them for debugging and glue, not in hot loops.
In eager mode they run at once.
"""
from __future__ import annotations

import sys

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .host_ops import host_op
from .needs_eager import NeedsEagerExecution, tracing_function
from .tensor import EagerTensor, Tensor, TensorShape


def _as_arg(a: np.ndarray):
    return a[()] if a.ndim == 0 else a


def _as_result(value, dtype: dt.DType) -> np.ndarray:
    if isinstance(value, EagerTensor):
        value = value._value
    if dtype.is_string:
        arr = np.asarray(value, dtype=object)
        return np.vectorize(lambda s: s.encode() if isinstance(s, str) else s, otypes=[object])(arr) if arr.size else arr
    return np.asarray(value, dtype=dtype.np)


def _call(func, tout, args):
    result = func(*[_as_arg(np.asarray(a)) for a in args])
    if not isinstance(result, (list, tuple)):
        result = [result]
    if len(result) != len(tout):
        raise ValueError(f"py_func: the function returned {len(result)} values, Tout lists {len(tout)}")
    return [_as_result(r, d) for r, d in zip(result, tout)]


@host_op("py_func")
def _py_func(run, op, inputs):
    return _call(op.attrs["func"], op.attrs["Tout"], inputs)


def py_func(func, inp, Tout, stateful=True, name=None, api_name="py_func"):  # noqa: N803 - TF's argument name
    """Call `func` on the numpy values of `inp`; returns tensors of dtypes `Tout` (unknown shapes)."""
    from .core import convert_to_tensor
    single = not isinstance(Tout, (list, tuple))
    tout = [dt.as_dtype(Tout)] if single else [dt.as_dtype(t) for t in Tout]
    inputs = [convert_to_tensor(x) for x in (inp or [])]
    if tracing_function():
        # A TF1 Session runs py_func as a host op between compiled segments; a compiled function
        # is one native program, which cannot call back into Python.
        raise NeedsEagerExecution(f"tf.{api_name}", f"tf.{api_name} cannot be compiled by fuseflow (compiled "
                                                    f"programs cannot call back into Python)")
    if not graph_mod.graph_is_active() and not any(isinstance(x, Tensor) for x in inputs):
        outs = [EagerTensor(o, d) for o, d in zip(_call(func, tout, [x._value for x in inputs]), tout)]
    else:
        g = graph_mod.get_default_graph()
        loc = graph_mod.user_location(g.get_name_scope())
        op = g.create_op("py_func", inputs, {"func": func, "Tout": tuple(tout), "stateful": stateful},
                         [(d, TensorShape(None)) for d in tout], name=name or "PyFunc", loc=loc)
        outs = list(op.outputs)
    if single:
        return outs[0]
    return outs


def numpy_function(func, inp, Tout, stateful=True, name=None):  # noqa: N803
    return py_func(func, inp, Tout, stateful=stateful, name=name, api_name="numpy_function")


def _summarize(a: np.ndarray, n: int) -> str:
    if a.ndim == 0:
        v = a[()]
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    flat = a.ravel()
    items = [(_summarize(np.asarray(x), n)) for x in flat[:n]]
    return "[" + " ".join(items) + ("..." if flat.size > n else "") + "]"


@host_op("print_v1")
def _print(run, op, inputs):
    state = run.resource(("print", op.id, id(op.graph)), lambda: {"count": 0})
    first_n = op.attrs["first_n"]
    if first_n is None or first_n < 0 or state["count"] < first_n:
        state["count"] += 1
        _print_now(op.attrs, inputs)
    return [inputs[0]]


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802 - TF's name
    """Identity on `input_` that prints `message` and the values of `data` when it runs (TF1)."""
    from .core import convert_to_tensor
    x = convert_to_tensor(input_)
    data = [convert_to_tensor(d) for d in (data or [])]
    attrs = {"message": message or "", "first_n": first_n, "summarize": 3 if summarize is None else int(summarize)}
    if not graph_mod.graph_is_active() and not isinstance(x, Tensor):
        _print_now(attrs, [x._value] + [d._value for d in data])
        return x
    g = graph_mod.get_default_graph()
    loc = graph_mod.user_location(g.get_name_scope())
    # Printing is a host op run before the identity that passes `input_` on, so gradients flow
    # through tf.Print (TF: identity gradient).
    op = g.create_op("print_v1", [x] + data, attrs, [(x.dtype, x.shape)],
                     name=(name or "Print") + "_host", loc=loc)
    from .array_ops import identity
    with g.control_dependencies([op]):
        return identity(x, name=name or "Print")


def _print_now(attrs, arrays):
    """TF1's format: the message, then each data tensor as [v1 v2 v3...] (scalars as [v])."""
    n = attrs["summarize"]
    parts = "".join(f"[{_summarize(np.asarray(a), n)}]" if np.asarray(a).ndim == 0 else _summarize(np.asarray(a), n)
                    for a in arrays[1:])
    print(f"{attrs['message']}{parts}", file=sys.stderr)
