"""TF1 assertions: `tf.Assert`, `tf.assert_equal` / `assert_positive` / ..., `tf.check_numerics`.

In graph mode an assertion is an op returning nothing; it fails the run with
InvalidArgumentError when its condition (reduce_all of an element-wise test) is false. It runs
on the host (host_ops.py) after the compiled code computed the condition, so a program that
uses it as a control dependency is split there. As in TF, when both operands are constants
the test is done while building the graph (InvalidArgumentError at once), and the static
checks (rank, dtype) raise ValueError / TypeError when the graph is built.
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .errors import InvalidArgumentError
from .host_ops import host_op
from .tensor import EagerTensor, Tensor


def _tf():
    import fuseflow.compat.v1 as tf
    return tf


def _summarize(value, n):
    a = np.asarray(value)
    if a.dtype.kind in "SO" and a.ndim == 0:
        v = a[()]
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    if a.ndim == 0:
        v = a[()]
        return format(v, ".6g") if a.dtype.kind == "f" else str(v)
    flat = a.ravel()
    items = [_summarize(x, n) for x in flat[:n]]
    return "[" + " ".join(items) + ("..." if flat.size > n else "") + "]"


def _failure_message(data, values, summarize):
    n = 3 if summarize is None else summarize
    parts = []
    vi = iter(values)
    for d in data:
        if d is None or isinstance(d, (Tensor, EagerTensor)):
            value = np.asarray(next(vi))
            text = _summarize(value, n)
            parts.append(text[1:-1] if value.ndim > 0 else text)   # arrays print as [a b], not [[a b]]
        else:
            parts.append(str(d))
    return "assertion failed: " + " ".join(f"[{p}]" for p in parts)


@host_op("assert_v1")
def _assert(run, op, inputs):
    if not bool(np.all(inputs[0])):
        raise InvalidArgumentError(None, op, _failure_message(op.attrs["data"], inputs[1:], op.attrs["summarize"]))
    return []


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF's name
    """Fails with InvalidArgumentError, listing `data`, when the scalar `condition` is false."""
    from .core import convert_to_tensor
    cond = convert_to_tensor(condition)
    if cond.dtype != dt.bool_:
        raise TypeError(f"Assert: condition must be bool, got {cond.dtype.name}")
    data = list(data or [])
    tensors = [d for d in data if isinstance(d, (Tensor, EagerTensor))]
    if not graph_mod.graph_is_active() and not isinstance(cond, Tensor) \
            and not any(isinstance(t, Tensor) for t in tensors):
        if not bool(np.all(cond._value)):
            raise InvalidArgumentError(None, None, _failure_message(data, [t._value for t in tensors], summarize))
        return None
    g = graph_mod.get_default_graph()
    loc = graph_mod.user_location(g.get_name_scope())
    # attrs keep the data's layout only (strings in place, None where a tensor input goes)
    layout = tuple(None if isinstance(d, (Tensor, EagerTensor)) else str(d) for d in data)
    return g.create_op("assert_v1", [cond] + tensors, {"data": layout, "summarize": summarize}, [],
                       name=name or "Assert", loc=loc)


def _static_value(t):
    if isinstance(t, EagerTensor):
        return t._value
    try:
        from .array_ops import get_static_value
        return get_static_value(t)
    except Exception:       # not constant-foldable here: checked when the graph runs
        return None


def _binary_assert(opname, symbol, test, np_test):
    def assertion(x, y, data=None, summarize=None, message=None, name=None):
        tf = _tf()
        with tf.name_scope(name, opname, [x, y]):
            x = tf.convert_to_tensor(x, name="x")
            y = tf.convert_to_tensor(y, name="y", dtype=x.dtype if not isinstance(y, (Tensor, EagerTensor)) else None)
            if data is None:
                data = [f"Condition x {symbol} y did not hold element-wise:",
                        f"x ({getattr(x, 'name', 'x')}) = ", x, f"y ({getattr(y, 'name', 'y')}) = ", y]
            if message is not None:
                data = [message] + list(data)
            xs, ys = _static_value(x), _static_value(y)
            if xs is not None and ys is not None and not bool(np.all(np_test(np.asarray(xs), np.asarray(ys)))):
                raise InvalidArgumentError(None, None, _failure_message(
                    data, [np.asarray(xs if d is x else ys) for d in data if isinstance(d, (Tensor, EagerTensor))],
                    summarize))
            condition = tf.reduce_all(test(x, y))
            return Assert(condition, data, summarize=summarize)
    assertion.__name__ = opname
    return assertion


def _t():
    return _tf()


assert_equal = _binary_assert("assert_equal", "==", lambda x, y: _t().equal(x, y), np.equal)
assert_none_equal = _binary_assert("assert_none_equal", "!=", lambda x, y: _t().not_equal(x, y), np.not_equal)
assert_less = _binary_assert("assert_less", "<", lambda x, y: _t().less(x, y), np.less)
assert_less_equal = _binary_assert("assert_less_equal", "<=", lambda x, y: _t().less_equal(x, y), np.less_equal)
assert_greater = _binary_assert("assert_greater", ">", lambda x, y: _t().greater(x, y), np.greater)
assert_greater_equal = _binary_assert("assert_greater_equal", ">=", lambda x, y: _t().greater_equal(x, y),
                                      np.greater_equal)


def _sign_assert(opname, description, make):
    def assertion(x, data=None, summarize=None, message=None, name=None):
        tf = _tf()
        with tf.name_scope(name, opname, [x]):
            x = tf.convert_to_tensor(x, name="x")
            if data is None:
                data = [message or "", f"Condition x {description} did not hold element-wise:",
                        f"x ({getattr(x, 'name', 'x')}) = ", x]
            zero = tf.zeros([], dtype=x.dtype)
            return make(x, zero, data, summarize)
    assertion.__name__ = opname
    return assertion


assert_positive = _sign_assert("assert_positive", "> 0",
                               lambda x, z, d, s: assert_less(z, x, data=d, summarize=s))
assert_negative = _sign_assert("assert_negative", "< 0",
                               lambda x, z, d, s: assert_less(x, z, data=d, summarize=s))
assert_non_negative = _sign_assert("assert_non_negative", ">= 0",
                                   lambda x, z, d, s: assert_less_equal(z, x, data=d, summarize=s))
assert_non_positive = _sign_assert("assert_non_positive", "<= 0",
                                   lambda x, z, d, s: assert_less_equal(x, z, data=d, summarize=s))


def assert_near(x, y, rtol=None, atol=None, data=None, summarize=None, message=None, name=None):
    """|x - y| <= atol + rtol * |y| element-wise (default tolerances 10 * eps of the dtype)."""
    tf = _tf()
    with tf.name_scope(name, "assert_near", [x, y]):
        x = tf.convert_to_tensor(x, name="x")
        y = tf.convert_to_tensor(y, name="y", dtype=x.dtype)
        eps = np.finfo(x.dtype.as_numpy_dtype).eps
        rtol = tf.convert_to_tensor(10 * eps if rtol is None else rtol, dtype=x.dtype)
        atol = tf.convert_to_tensor(10 * eps if atol is None else atol, dtype=x.dtype)
        if data is None:
            data = [message or "", "x and y not equal to tolerance rtol = ", rtol, ", atol = ", atol,
                    f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
        tol = atol + rtol * tf.abs(y)
        condition = tf.reduce_all(tf.less_equal(tf.abs(x - y), tol))
        return Assert(condition, data, summarize=summarize)


def _rank_of(x):
    nd = x.shape.ndims
    return nd


def assert_rank(x, rank, data=None, summarize=None, message=None, name=None):
    tf = _tf()
    x = tf.convert_to_tensor(x)
    nd = _rank_of(x)
    if nd is not None and nd != int(rank):
        raise ValueError("%sTensor %s must have rank %d.  Received rank %d, shape %s"
                         % ((message + " ") if message else "", x.name, int(rank), nd, x.shape))
    return tf.no_op(name=name or "assert_rank")


def assert_rank_at_least(x, rank, data=None, summarize=None, message=None, name=None):
    tf = _tf()
    x = tf.convert_to_tensor(x)
    nd = _rank_of(x)
    if nd is not None and nd < int(rank):
        raise ValueError("%sTensor %s must have rank at least %d.  Received rank %d, shape %s"
                         % ((message + " ") if message else "", x.name, int(rank), nd, x.shape))
    return tf.no_op(name=name or "assert_rank_at_least")


def assert_scalar(tensor, name=None, message=None):
    tf = _tf()
    tensor = tf.convert_to_tensor(tensor)
    if tensor.shape.ndims != 0:
        raise ValueError("%sExpected scalar shape for %s, saw shape: %s."
                         % ((message + " ") if message else "", tensor.name, tensor.shape))
    return tensor


def assert_type(tensor, tf_type, message=None, name=None):
    tf = _tf()
    tensor = tf.convert_to_tensor(tensor)
    want = dt.as_dtype(tf_type)
    if tensor.dtype != want:
        raise TypeError("%s%s must be of type %s; got %s" % ((message + " ") if message else "",
                                                             tensor.name, want, tensor.dtype))
    return tf.no_op(name=name or "assert_type")


def assert_integer(x, message=None, name=None):
    tf = _tf()
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_integer:
        raise TypeError("%sExpected \"x\" to be integer type.  Found: %s of dtype %s"
                        % ((message + " ") if message else "", x.name, x.dtype))
    return tf.no_op(name=name or "assert_integer")


def is_numeric_tensor(tensor):
    return isinstance(tensor, (Tensor, EagerTensor)) and (tensor.dtype.is_floating or tensor.dtype.is_integer
                                                           or tensor.dtype.is_complex)


@host_op("check_numerics")
def _check_numerics(run, op, inputs):
    a = np.asarray(inputs[0])
    if np.isnan(a).any() or np.isinf(a).any():
        kinds = " and ".join(k for k, bad in (("Inf", np.isinf(a).any()), ("NaN", np.isnan(a).any())) if bad)
        raise InvalidArgumentError(None, op, f"{op.attrs['message']} : Tensor had {kinds} values")
    return [a]


def check_numerics(tensor, message, name=None):
    """Identity that fails with InvalidArgumentError if `tensor` has a NaN or an Inf."""
    from .core import convert_to_tensor
    x = convert_to_tensor(tensor)
    if not x.dtype.is_floating:
        raise TypeError(f"CheckNumerics: tensor must be floating point, got {x.dtype.name}")
    if not graph_mod.graph_is_active() and not isinstance(x, Tensor):
        a = np.asarray(x._value)
        if np.isnan(a).any() or np.isinf(a).any():
            kinds = " and ".join(k for k, bad in (("Inf", np.isinf(a).any()), ("NaN", np.isnan(a).any())) if bad)
            raise InvalidArgumentError(None, None, f"{message} : Tensor had {kinds} values")
        return x
    g = graph_mod.get_default_graph()
    loc = graph_mod.user_location(g.get_name_scope())
    from .array_ops import identity
    # the check runs on the host; the result is an identity after it, so gradients flow through
    # check_numerics as through TF's (identity) gradient
    with g.as_default():
        op = g.create_op("check_numerics", [x], {"message": message}, [(x.dtype, x.shape)],
                         name=(name or "CheckNumerics") + "_host", loc=loc)
        with g.control_dependencies([op]):
            return identity(x, name=name or "CheckNumerics")


def verify_tensor_all_finite(t=None, msg=None, name=None, x=None, message=None):
    return check_numerics(t if t is not None else x, msg if msg is not None else message, name=name)


def add_check_numerics_ops():
    """check_numerics on every float tensor of the default graph built so far (message
    'op_name:output_index'), grouped into one op (TF1, graph mode only)."""
    from .control_flow import group
    from .host_ops import is_host_op
    if not graph_mod.graph_is_active():
        raise RuntimeError("add_check_numerics_ops() is not compatible with eager execution. To check for Inf's "
                           "and NaN's under eager execution, call tf.debugging.enable_check_numerics() once "
                           "before executing the checked operations.")
    g = graph_mod.get_default_graph()
    checks = []
    for op in list(g.get_operations()):
        if op.ir_op in ("var_handle", "assign", "assign_add", "assign_sub") or is_host_op(op):
            continue
        for t in op.outputs:
            if t.dtype in (dt.float16, dt.float32, dt.float64):
                checks.append(check_numerics(t, f"{op.name}:{t.value_index}").op)
    return group(*checks)
