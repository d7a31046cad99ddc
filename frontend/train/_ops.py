"""The few ops the optimizers, schedules and averages emit, on compiler op names directly.

Going through `core.apply_op` (not the user-facing op functions) keeps the update rules
independent of argument conversion conventions: every operand here is already a tensor of
the right dtype, and constants are built with an explicit dtype, so float32 arithmetic is
exactly the arithmetic written (TF's kernels compute `1 - beta1` in float32, Keras computes
it in Python double: each optimizer builds its constants accordingly).
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt

from .. import graph as graph_mod
from ..core import apply_op, convert_to_tensor
from ..tensor import EagerTensor, Tensor


def tensor(x, dtype=None):
    """Tensors (and variables) pass through, with a cast when `dtype` differs; numbers become constants."""
    if hasattr(x, "_as_tensor") and not isinstance(x, (Tensor, EagerTensor)):
        x = x._as_tensor()
    if isinstance(x, (Tensor, EagerTensor)):
        return cast(x, dtype) if dtype is not None else x
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    return convert_to_tensor(np.asarray(x, dtype=dtype.np) if dtype is not None else x)


def const(value, dtype):
    dtype = dt.as_dtype(dtype)
    return convert_to_tensor(np.asarray(value, dtype=dtype.np))


def cast(x, dtype):
    dtype = dt.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return apply_op("cast", [x], {"dtype": dtype}, name="Cast")


def _bin(op, name):
    def f(a, b, name=name):
        a, b = _pair(a, b)
        return apply_op(op, [a, b], {}, name=name)
    f.__name__ = op
    return f


def _pair(a, b):
    ta = isinstance(a, (Tensor, EagerTensor)) or hasattr(a, "_as_tensor")
    tb = isinstance(b, (Tensor, EagerTensor)) or hasattr(b, "_as_tensor")
    if ta:
        a = tensor(a)
    if tb:
        b = tensor(b)
    if ta and not tb:
        b = const(b, a.dtype)
    elif tb and not ta:
        a = const(a, b.dtype)
    elif not ta and not tb:
        a, b = tensor(a), tensor(b)
    return a, b


add = _bin("add", "add")
sub = _bin("sub", "sub")
mul = _bin("mul", "mul")
div = _bin("div", "truediv")
pow_ = _bin("pow", "Pow")
maximum = _bin("maximum", "Maximum")
minimum = _bin("minimum", "Minimum")
less_equal = _bin("less_equal", "LessEqual")
greater = _bin("greater", "Greater")
equal = _bin("equal", "Equal")


def _un(op, name):
    def f(x, name=name):
        return apply_op(op, [tensor(x)], {}, name=name)
    f.__name__ = op
    return f


sqrt = _un("sqrt", "Sqrt")
rsqrt = _un("rsqrt", "Rsqrt")
square = _un("square", "Square")
floor = _un("floor", "Floor")
ceil = _un("ceil", "Ceil")
exp = _un("exp", "Exp")
cos = _un("cos", "Cos")
log = _un("log", "Log")
neg = _un("neg", "Neg")
abs_ = _un("abs", "Abs")
sign = _un("sign", "Sign")


def select(cond, a, b, name="SelectV2"):
    a, b = _pair(a, b)
    return apply_op("select", [tensor(cond), a, b], {}, name=name)


def logical_and(a, b):
    return apply_op("logical_and", [tensor(a), tensor(b)], {}, name="LogicalAnd")


def zeros_like_value(v):
    return np.zeros(tuple(v.shape), v.dtype.np)


def group(ops, name="group_deps"):
    """A no_op running after all `ops` (graph mode); eagerly everything already ran."""
    if not graph_mod.graph_is_active():
        return None
    g = graph_mod.get_default_graph()
    deps = [o for o in ops if o is not None]
    with g.control_dependencies(deps):
        loc = graph_mod.user_location(g.get_name_scope())
        return g.create_op("no_op", [], {}, [], name=name, loc=loc)


def as_op(x):
    """The Operation of an update (assign ops return tensors or operations)."""
    if x is None:
        return None
    if hasattr(x, "outputs") and hasattr(x, "type"):
        return x
    op = getattr(x, "op", None)
    if op is not None and hasattr(op, "type"):
        return op
    return x
