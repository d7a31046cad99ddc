"""Math ops: TF's arithmetic, comparison, reduction, cast and matmul functions with TF's
names, signatures, dtype rules and default op names.

Dtype rules (as TF): the operands of a binary op must share a dtype; a Python scalar takes
the dtype of the tensor operand (`x + 1`, `2.0 * x`); `/` (truediv) on int8/int16/uint8/uint16
computes in float32 and on int32/int64 in float64; `//` on floats is floor(x / y).
"""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import build
from . import core
from .array_ops import (_as_int, _constant, _scalar_const, _to_tensor, expand_dims,
                        normalize_axes, normalize_axis, op_scope, reshape, static_value, transpose)
from .core import apply_op, convert_pair
from .tensor import TensorShape, is_tensor

_ALLOWED = {
    "float": (lambda d: d.is_floating, "half, float32, float64"),
    "numeric": (lambda d: d.is_numeric, "numeric types"),
    "signed": (lambda d: d.is_floating or d.kind == "i", "half, float32, float64, int8, int16, int32, int64"),
    "bool": (lambda d: d.is_bool, "bool"),
    "any": (lambda d: d.native, "numeric and bool types"),
}


def _check_dtype(op: str, t, allowed: str, param: str = "x"):
    pred, names = _ALLOWED[allowed]
    if not pred(t.dtype):
        raise TypeError(f"Value passed to parameter '{param}' has DataType {t.dtype.name} not in list of "
                        f"allowed values: {names} (op {op}, input shape {t.shape})")


def _check_same(op: str, x, y):
    if x.dtype != y.dtype:
        raise TypeError(f"{op}: input 'y' has type {y.dtype.name} that does not match type {x.dtype.name} "
                        f"of argument 'x' (shapes {x.shape} and {y.shape})")


# =========================================================================== unary ops
def _unary(op_type: str, default: str, x, name, allowed: str = "float"):
    with op_scope(name, default, [x]) as scope:
        t = _to_tensor(x)
        _check_dtype(default, t, allowed)
        return apply_op(op_type, [t], {}, name=scope)


def abs(x, name=None):
    return _unary("abs", "Abs", x, name, "signed")


def negative(x, name=None):
    return _unary("neg", "Neg", x, name, "signed")


neg = negative


def sign(x, name=None):
    return _unary("sign", "Sign", x, name, "signed")


def square(x, name=None):
    return _unary("square", "Square", x, name, "numeric")


def sqrt(x, name=None):
    return _unary("sqrt", "Sqrt", x, name)


def rsqrt(x, name=None):
    return _unary("rsqrt", "Rsqrt", x, name)


def exp(x, name=None):
    return _unary("exp", "Exp", x, name)


def expm1(x, name=None):
    return _unary("expm1", "Expm1", x, name)


def log(x, name=None):
    return _unary("log", "Log", x, name)


def log1p(x, name=None):
    return _unary("log1p", "Log1p", x, name)


def sin(x, name=None):
    return _unary("sin", "Sin", x, name)


def cos(x, name=None):
    return _unary("cos", "Cos", x, name)


def tanh(x, name=None):
    return _unary("tanh", "Tanh", x, name)


def sigmoid(x, name=None):
    return _unary("sigmoid", "Sigmoid", x, name)


def erf(x, name=None):
    return _unary("erf", "Erf", x, name)


def floor(x, name=None):
    return _unary("floor", "Floor", x, name)


def ceil(x, name=None):
    return _unary("ceil", "Ceil", x, name)


def round(x, name=None):
    """Rounds half to even (banker's rounding), as TF; integers are returned unchanged."""
    t = _to_tensor(x)
    if t.dtype.is_integer:
        return t
    return _unary("round", "Round", t, name)


def rint(x, name=None):
    return _unary("round", "Rint", x, name)


def reciprocal(x, name=None):
    return _unary("reciprocal", "Reciprocal", x, name)


inv = reciprocal


def softplus(features, name=None):
    return _unary("softplus", "Softplus", features, name)


def softsign(features, name=None):
    return _unary("softsign", "Softsign", features, name)


def is_nan(x, name=None):
    return _unary("is_nan", "IsNan", x, name)


def is_inf(x, name=None):
    return _unary("is_inf", "IsInf", x, name)


def is_finite(x, name=None):
    return _unary("is_finite", "IsFinite", x, name)


def logical_not(x, name=None):
    return _unary("logical_not", "LogicalNot", x, name, "bool")


def log_sigmoid(x, name=None):
    with op_scope(name, "LogSigmoid", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("LogSigmoid", t, "float")
        return negative(softplus(negative(t)), name=scope)


def tan(x, name=None):
    with op_scope(name, "Tan", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Tan", t, "float")
        return _binary("div", "Tan", sin(t), cos(t), scope)


def atan(x, name=None):
    with op_scope(name, "Atan", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Atan", t, "float")
        return atan2(t, _scalar_const(1, t.dtype), name=scope)


def asin(x, name=None):
    with op_scope(name, "Asin", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Asin", t, "float")
        return atan2(t, sqrt(subtract(1, square(t))), name=scope)


def acos(x, name=None):
    with op_scope(name, "Acos", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Acos", t, "float")
        return atan2(sqrt(subtract(1, square(t))), t, name=scope)


def sinh(x, name=None):
    with op_scope(name, "Sinh", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Sinh", t, "float")
        return multiply(subtract(exp(t), exp(negative(t))), 0.5, name=scope)


def cosh(x, name=None):
    with op_scope(name, "Cosh", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Cosh", t, "float")
        return multiply(add(exp(t), exp(negative(t))), 0.5, name=scope)


def asinh(x, name=None):
    with op_scope(name, "Asinh", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Asinh", t, "float")
        a = abs(t)   # odd function: compute on |x| for accuracy at large negative x
        return multiply(sign(t), log(add(a, sqrt(add(square(a), 1)))), name=scope)


def acosh(x, name=None):
    with op_scope(name, "Acosh", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Acosh", t, "float")
        return log(add(t, sqrt(subtract(square(t), 1))), name=scope)


def atanh(x, name=None):
    with op_scope(name, "Atanh", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Atanh", t, "float")
        return multiply(log1p(truediv(multiply(t, 2), subtract(1, t))), 0.5, name=scope)


def erfc(x, name=None):
    with op_scope(name, "Erfc", [x]) as scope:
        t = _to_tensor(x)
        _check_dtype("Erfc", t, "float")
        return subtract(1, erf(t), name=scope)


# ========================================================================== binary ops
def _binary(op_type: str, default: str, x, y, name, allowed: str = "numeric"):
    with op_scope(name, default, [x, y]) as scope:
        xt, yt = convert_pair(x, y, default)
        _check_same(default, xt, yt)
        _check_dtype(default, xt, allowed)
        return apply_op(op_type, [xt, yt], {}, name=scope)


def _is_string(v) -> bool:
    return isinstance(v, (str, bytes)) or (is_tensor(v) and v.dtype.is_string)


def add(x, y, name=None):
    """`tf.add`; on strings, concatenation (host-computed, eager only)."""
    if _is_string(x) or _is_string(y):
        from .core import check_operand
        from .string_ops import _concat_pair
        check_operand(x, y)          # 'a' + int tensor / string tensor + 1: TF's conversion TypeError
        return _concat_pair(x, y, name)
    return _binary("add", "Add", x, y, name)


def subtract(x, y, name=None):
    return _binary("sub", "Sub", x, y, name)


def multiply(x, y, name=None):
    return _binary("mul", "Mul", x, y, name)


def scalar_mul(scalar, x, name=None):
    return multiply(scalar, x, name=name)


def maximum(x, y, name=None):
    return _binary("maximum", "Maximum", x, y, name)


def minimum(x, y, name=None):
    return _binary("minimum", "Minimum", x, y, name)


def squared_difference(x, y, name=None):
    return _binary("squared_difference", "SquaredDifference", x, y, name)


def atan2(y, x, name=None):
    return _binary("atan2", "Atan2", y, x, name, "float")


def pow(x, y, name=None):
    with op_scope(name, "Pow", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "Pow")
        _check_same("Pow", xt, yt)
        _check_dtype("Pow", xt, "numeric")
        exponent = static_value(yt) if xt.dtype.is_integer else None
        if exponent is not None and np.any(np.asarray(exponent) < 0):
            from .errors import InvalidArgumentError
            raise InvalidArgumentError(None, None, "Integers to negative integer powers are not allowed")
        return apply_op("pow", [xt, yt], {}, name=scope)


_TRUEDIV = {8: dt.float32, 16: dt.float32, 32: dt.float64, 64: dt.float64}


def truediv(x, y, name=None):
    """`x / y`: integers are converted to floating point first (int8/16 -> float32, int32/64 -> float64)."""
    with op_scope(name, "truediv", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "truediv")
        if xt.dtype != yt.dtype:
            raise TypeError(f"`x` and `y` must have the same dtype, got {xt.dtype!r} != {yt.dtype!r} "
                            f"(shapes {xt.shape} and {yt.shape}).")
        if xt.dtype.is_bool or xt.dtype.is_string:
            raise TypeError(f"Invalid dtype {xt.dtype!r} in __truediv__")
        if xt.dtype.is_integer:
            target = _TRUEDIV[xt.dtype.bits]
            xt, yt = cast(xt, target), cast(yt, target)
        return apply_op("div", [xt, yt], {}, name=scope)


def divide(x, y, name=None):
    """`tf.divide` / `tf.math.divide`: Python 3 division (truediv)."""
    return truediv(x, y, name=name)


def realdiv(x, y, name=None):
    return _binary("div", "RealDiv", x, y, name)


def floordiv(x, y, name=None):
    """Floor division; on floats floor(x / y), as TF (numpy's // differs for e.g. 1.0 // 0.1)."""
    with op_scope(name, "floordiv", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "floordiv")
        _check_same("FloorDiv", xt, yt)
        _check_dtype("FloorDiv", xt, "numeric")
        if xt.dtype.is_floating:
            return apply_op("floor", [apply_op("div", [xt, yt], {})], {}, name=scope)
        return apply_op("floordiv", [xt, yt], {}, name=scope)


def floormod(x, y, name=None):
    return _binary("mod", "FloorMod", x, y, name)


mod = floormod


def truncatediv(x, y, name=None):
    """C-style division: integers round toward zero."""
    return _binary("div", "TruncateDiv", x, y, name)


def truncatemod(x, y, name=None):
    """Remainder with the sign of x (C fmod)."""
    with op_scope(name, "TruncateMod", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "TruncateMod")
        _check_same("TruncateMod", xt, yt)
        _check_dtype("TruncateMod", xt, "numeric")
        if xt.dtype.is_integer:
            return apply_op("sub", [xt, apply_op("mul", [apply_op("div", [xt, yt], {}), yt], {})], {}, name=scope)
        r = apply_op("mod", [xt, yt], {})
        zero = _scalar_const(0, xt.dtype)
        fix = logical_and(not_equal(r, zero), not_equal(less(xt, zero), less(yt, zero)))
        return apply_op("select", [fix, apply_op("sub", [r, yt], {}), r], {}, name=scope)


def div(x, y, name=None):
    """TF1 `tf.div`: Python 2 division (floor division for integers)."""
    with op_scope(name, "div", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "div")
        _check_same("div", xt, yt)
        if xt.dtype.is_integer:
            return floordiv(xt, yt, name=scope)
        return realdiv(xt, yt, name=scope)


def div_no_nan(x, y, name=None):
    """x / y, with 0 wherever y is 0."""
    with op_scope(name, "div_no_nan", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "DivNoNan")
        _check_same("DivNoNan", xt, yt)
        _check_dtype("DivNoNan", xt, "float")
        zero = _scalar_const(0, yt.dtype)
        nz = not_equal(yt, zero)
        safe = apply_op("select", [nz, yt, _scalar_const(1, yt.dtype)], {})
        return apply_op("select", [nz, apply_op("div", [xt, safe], {}), zero], {}, name=scope)


def multiply_no_nan(x, y, name=None):
    """x * y, with 0 wherever y is 0 (even where x is inf or nan)."""
    with op_scope(name, "multiply_no_nan", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "MulNoNan")
        _check_same("MulNoNan", xt, yt)
        zero = _scalar_const(0, yt.dtype)
        return apply_op("select", [not_equal(yt, zero), apply_op("mul", [xt, yt], {}), zero], {}, name=scope)


def xlogy(x, y, name=None):
    with op_scope(name, "Xlogy", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "Xlogy")
        _check_same("Xlogy", xt, yt)
        _check_dtype("Xlogy", xt, "float")
        zero = _scalar_const(0, xt.dtype)
        return apply_op("select", [equal(xt, zero), zero, multiply(xt, log(yt))], {}, name=scope)


def xdivy(x, y, name=None):
    with op_scope(name, "Xdivy", [x, y]) as scope:
        xt, yt = convert_pair(x, y, "Xdivy")
        _check_same("Xdivy", xt, yt)
        zero = _scalar_const(0, xt.dtype)
        return apply_op("select", [equal(xt, zero), zero, realdiv(xt, yt)], {}, name=scope)


# ------------------------------------------------------------------------- comparisons
def _compare(op_type, default, x, y, name):
    with op_scope(name, default, [x, y]) as scope:
        xt, yt = convert_pair(x, y, default)
        _check_same(default, xt, yt)
        if xt.dtype.is_string:
            from .string_ops import _compare_strings
            return _compare_strings(op_type, xt, yt)
        return apply_op(op_type, [xt, yt], {}, name=scope)


def equal(x, y, name=None):
    return _compare("equal", "Equal", x, y, name)


def not_equal(x, y, name=None):
    return _compare("not_equal", "NotEqual", x, y, name)


def less(x, y, name=None):
    return _compare("less", "Less", x, y, name)


def less_equal(x, y, name=None):
    return _compare("less_equal", "LessEqual", x, y, name)


def greater(x, y, name=None):
    return _compare("greater", "Greater", x, y, name)


def greater_equal(x, y, name=None):
    return _compare("greater_equal", "GreaterEqual", x, y, name)


def logical_and(x, y, name=None):
    return _binary("logical_and", "LogicalAnd", x, y, name, "bool")


def logical_or(x, y, name=None):
    return _binary("logical_or", "LogicalOr", x, y, name, "bool")


def logical_xor(x, y, name="LogicalXor"):
    return _binary("logical_xor", "LogicalXor", x, y, name, "bool")


# ================================================================================ casts
def cast(x, dtype, name=None):
    """`tf.cast`: returns `x` itself when it already has `dtype`; float -> int truncates toward 0."""
    base = dt.as_dtype(dtype)
    with op_scope(name, "Cast", [x]) as scope:
        t = _to_tensor(x)
        if t.dtype == base:
            return t
        if t.dtype.is_string or base.is_string:
            raise TypeError(f"Cast: casting {t.dtype.name} to {base.name} is not supported "
                            f"(use tf.strings.to_number / tf.strings.as_string)")
        return apply_op("cast", [t], {"dtype": base}, name=scope)


def saturate_cast(value, dtype, name=None):
    """Cast, clamping to the target dtype's range first."""
    target = dt.as_dtype(dtype)
    with op_scope(name, "saturate_cast", [value]) as scope:
        t = _to_tensor(value)
        if not t.dtype.is_bool and not target.is_bool:
            lo = builtins.max(float(t.dtype.min), float(target.min))
            hi = builtins.min(float(t.dtype.max), float(target.max))
            if t.dtype.is_integer:
                lo, hi = int(np.ceil(lo)), int(np.floor(hi))
            else:
                # the largest value of the source dtype that does not exceed the target's max
                hi = float(np.nextafter(t.dtype.np.type(hi), t.dtype.np.type(-np.inf))) \
                    if t.dtype.np.type(hi) > hi else hi
            if lo > float(t.dtype.min):
                t = maximum(t, _scalar_const(lo, t.dtype))
            if hi < float(t.dtype.max):
                t = minimum(t, _scalar_const(hi, t.dtype))
        return cast(t, target, name=scope)


def to_float(x, name="ToFloat"):
    return cast(x, dt.float32, name=name)


def to_double(x, name="ToDouble"):
    return cast(x, dt.float64, name=name)


def to_int32(x, name="ToInt32"):
    return cast(x, dt.int32, name=name)


def to_int64(x, name="ToInt64"):
    return cast(x, dt.int64, name=name)


# =============================================================================== add_n
def add_n(inputs, name=None):
    """Sum of same-shape, same-dtype tensors (no broadcasting, as TF's AddN)."""
    if not inputs or not isinstance(inputs, (list, tuple)):
        raise ValueError("Inputs must be an iterable of at least one Tensor/IndexedSlices with the same "
                         "dtype and shape.")
    with op_scope(name, "AddN", list(inputs)) as scope:
        ts = [_to_tensor(v) for v in inputs]
        if len(ts) == 1:
            from .array_ops import identity
            return identity(ts[0], name=scope) if name else ts[0]
        for t in ts[1:]:
            if t.dtype != ts[0].dtype:
                raise TypeError(f"AddN: all inputs must have the same dtype, got "
                                f"{', '.join(t.dtype.name for t in ts)}")
            if not t.shape.is_compatible_with(ts[0].shape):
                raise ValueError(f"AddN: all inputs must have the same shape, got "
                                 f"{', '.join(str(t.shape) for t in ts)}")
        _check_dtype("AddN", ts[0], "numeric", "inputs")
        return apply_op("add_n", ts, {}, name=scope)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    return add_n(inputs, name=name)


# ============================================================================== matmul
def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, grad_a=False, grad_b=False, name=None):
    """2-D or batched (batch dims broadcast) matrix product; adjoint == transpose for real dtypes;
    the *_is_sparse hints are accepted and ignored."""
    if transpose_a and adjoint_a:
        raise ValueError("Only one of transpose_a and adjoint_a can be True.")
    if transpose_b and adjoint_b:
        raise ValueError("Only one of transpose_b and adjoint_b can be True.")
    with op_scope(name, "MatMul", [a, b]) as scope:
        at, bt = convert_pair(a, b, "MatMul")
        _check_same("MatMul", at, bt)
        _check_dtype("MatMul", at, "numeric", "a")
        for t, which in ((at, "a"), (bt, "b")):
            if t.shape.rank is not None and t.shape.rank < 2:
                raise ValueError(f"MatMul: Shape must be rank >= 2 but is rank {t.shape.rank} for input "
                                 f"'{which}' (shapes {at.shape} and {bt.shape})")
        if output_type is not None and dt.as_dtype(output_type) != at.dtype:
            raise TypeError(f"MatMul: output_type {dt.as_dtype(output_type).name} differs from the input "
                            f"dtype {at.dtype.name}; fuseflow computes matmul in the input dtype")
        return apply_op("matmul", [at, bt], {"transpose_a": bool(transpose_a or adjoint_a),
                                             "transpose_b": bool(transpose_b or adjoint_b)}, name=scope)


def tensordot(a, b, axes, name=None):
    """Contraction over `axes` (int N: the last N of a with the first N of b; or two lists)."""
    with op_scope(name, "Tensordot", [a, b]) as scope:
        at, bt = convert_pair(a, b, "Tensordot")
        _check_same("Tensordot", at, bt)
        if not (at.shape.is_fully_defined() and bt.shape.is_fully_defined()):
            raise ValueError("Tensordot: fuseflow needs fully known input shapes")
        sa, sb = at.shape.as_list(), bt.shape.as_list()
        if not isinstance(axes, (list, tuple)):
            n = _as_int(axes, "Tensordot: axes")
            if n < 0 or n > len(sa) or n > len(sb):
                raise ValueError(f"Tensordot: axes {n} must be in [0, min(rank)] for shapes {sa} and {sb}")
            ax_a, ax_b = list(builtins.range(len(sa) - n, len(sa))), list(builtins.range(n))
        else:
            if len(axes) != 2:
                raise ValueError(f"Tensordot: axes must be an int or a pair of lists, got {axes!r}")
            ax_a, ax_b = ([int(v) for v in np.ravel(static_value(x))] for x in axes)
            ax_a = [normalize_axis(v, len(sa), "Tensordot") for v in ax_a]
            ax_b = [normalize_axis(v, len(sb), "Tensordot") for v in ax_b]
        if [sa[i] for i in ax_a] != [sb[i] for i in ax_b]:
            raise ValueError(f"Tensordot: contracted dimensions differ: {[sa[i] for i in ax_a]} vs "
                             f"{[sb[i] for i in ax_b]} (shapes {sa} and {sb})")
        free_a = [i for i in builtins.range(len(sa)) if i not in ax_a]
        free_b = [i for i in builtins.range(len(sb)) if i not in ax_b]
        k = int(np.prod([sa[i] for i in ax_a], dtype=np.int64))
        ma = reshape(transpose(at, free_a + ax_a), [-1, k])
        mb = reshape(transpose(bt, ax_b + free_b), [k, -1])
        out = [sa[i] for i in free_a] + [sb[i] for i in free_b]
        return reshape(matmul(ma, mb), out, name=scope)


# ========================================================================== reductions
def _resolve_keepdims(keepdims, keep_dims=None):
    if keep_dims is not None:
        if keepdims is not None:
            raise ValueError("Cannot specify both 'keep_dims' and 'keepdims'")
        keepdims = keep_dims
    return bool(keepdims) if keepdims is not None else False


def _resolve_axis(axis, reduction_indices):
    if reduction_indices is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'reduction_indices'")
        return reduction_indices
    return axis


def _reduce(op_type: str, default: str, input_tensor, axis, keepdims, name, allowed: str):
    with op_scope(name, default, [input_tensor]) as scope:
        x = _to_tensor(input_tensor)
        _check_dtype(default, x, allowed, "input")
        keepdims = bool(keepdims) if keepdims is not None else False
        r = x.shape.rank
        if r is None:
            raw = None
            if axis is not None:
                v = static_value(axis)
                if v is None:
                    raise ValueError(f"{default}: the axis must be known while building the graph")
                raw = tuple(int(a) for a in np.ravel(v))
            shape = TensorShape([]) if (axis is None and not keepdims) else TensorShape(None)
            return apply_op("reduce_deferred", [x], {"op": op_type, "axes": raw, "keepdims": keepdims},
                            name=scope or default, output_specs=[(x.dtype, shape)])
        axes = normalize_axes(axis, r, default)
        return apply_op(op_type, [x], {"axes": axes, "keepdims": keepdims}, name=scope)


@build.replay_handler("reduce_deferred")
def _replay_reduce_deferred(ctx, op, inputs):
    """A reduction recorded on an input of unknown rank: the axes are resolved now."""
    from fuseflow.compiler.shapes import normalize_axes as norm
    from fuseflow.compiler.shapes import ShapeError
    rank = ctx.graph.value_type(inputs[0]).rank
    try:
        axes = norm(op.attrs["axes"], rank, op.attrs["op"])
    except ShapeError as e:  # the fed value's rank decides: name the op and the user's line
        raise ShapeError(f"{e} ({op.attrs['op']} '{op.name}'{f' at {op.loc}' if op.loc else ''}; "
                         f"input shape {list(ctx.graph.value_type(inputs[0]).shape)})") from None
    return ctx.emitter(op).emit_multi(op.attrs["op"], inputs[0], axes=axes, keepdims=op.attrs["keepdims"],
                                      name=op.name)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_sum", "Sum", input_tensor, axis, keepdims, name, "numeric")


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_mean", "Mean", input_tensor, axis, keepdims, name, "numeric")


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_max", "Max", input_tensor, axis, keepdims, name, "numeric")


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_min", "Min", input_tensor, axis, keepdims, name, "numeric")


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_prod", "Prod", input_tensor, axis, keepdims, name, "numeric")


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_any", "Any", input_tensor, axis, keepdims, name, "bool")


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_all", "All", input_tensor, axis, keepdims, name, "bool")


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    return _reduce("reduce_logsumexp", "ReduceLogSumExp", input_tensor, axis, keepdims, name, "float")


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    with op_scope(name, "reduce_variance", [input_tensor]) as scope:
        x = _to_tensor(input_tensor)
        if not x.dtype.is_floating:
            raise TypeError(f"reduce_variance: input must be either real or complex, got {x.dtype.name}")
        means = reduce_mean(x, axis=axis, keepdims=True)
        squared_deviations = square(abs(subtract(x, means)))
        return reduce_mean(squared_deviations, axis=axis, keepdims=keepdims, name=scope)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    with op_scope(name, "reduce_std", [input_tensor]) as scope:
        x = _to_tensor(input_tensor)
        if not x.dtype.is_floating:
            raise TypeError(f"reduce_std: input must be either real or complex, got {x.dtype.name}")
        return sqrt(reduce_variance(x, axis=axis, keepdims=keepdims), name=scope)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    with op_scope(name, "EuclideanNorm", [input_tensor]) as scope:
        x = _to_tensor(input_tensor)
        return sqrt(reduce_sum(square(x), axis=axis, keepdims=keepdims), name=scope)


def _v1_reduction(fn):
    def reduce_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        return fn(input_tensor, _resolve_axis(axis, reduction_indices), _resolve_keepdims(keepdims, keep_dims),
                  name)
    reduce_v1.__name__ = fn.__name__
    reduce_v1.__qualname__ = fn.__name__ + "_v1"
    reduce_v1.__doc__ = f"TF1 `{fn.__name__}`: also accepts `reduction_indices=` and `keep_dims=`."
    return reduce_v1


reduce_sum_v1 = _v1_reduction(reduce_sum)
reduce_mean_v1 = _v1_reduction(reduce_mean)
reduce_max_v1 = _v1_reduction(reduce_max)
reduce_min_v1 = _v1_reduction(reduce_min)
reduce_prod_v1 = _v1_reduction(reduce_prod)
reduce_any_v1 = _v1_reduction(reduce_any)
reduce_all_v1 = _v1_reduction(reduce_all)
reduce_logsumexp_v1 = _v1_reduction(reduce_logsumexp)


# ---------------------------------------------------------------------- argmax / argmin
def _arg(op_type, default, input, axis, output_type, name):
    output_type = dt.as_dtype(output_type)
    if output_type not in (dt.int32, dt.int64):
        raise TypeError(f"{default}: output_type must be int32 or int64, got {output_type.name}")
    with op_scope(name, default, [input]) as scope:
        x = _to_tensor(input)
        _check_dtype(default, x, "numeric", "input")
        r = x.shape.rank
        if r is None:
            raise ValueError(f"{default}: the input's rank must be known")
        if r == 0:
            raise ValueError(f"{default}: input must have rank >= 1, got a scalar")
        a = normalize_axis(0 if axis is None else axis, r, default)
        if x.shape[a] == 0:
            raise ValueError(f"{default}: reduction dimension {a} of shape {x.shape} must be non-empty")
        return apply_op(op_type, [x], {"axis": a, "output_type": output_type}, name=scope)


def argmax(input, axis=None, output_type=dt.int64, name=None):
    return _arg("argmax", "ArgMax", input, axis, output_type, name)


def argmin(input, axis=None, output_type=dt.int64, name=None):
    return _arg("argmin", "ArgMin", input, axis, output_type, name)


def argmax_v1(input, axis=None, name=None, dimension=None, output_type=dt.int64):
    if dimension is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dimension'")
        axis = dimension
    return argmax(input, axis, output_type, name)


def argmin_v1(input, axis=None, name=None, dimension=None, output_type=dt.int64):
    if dimension is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dimension'")
        axis = dimension
    return argmin(input, axis, output_type, name)


def arg_max(input, dimension, output_type=dt.int64, name=None):
    return argmax(input, dimension, output_type, name)


def arg_min(input, dimension, output_type=dt.int64, name=None):
    return argmin(input, dimension, output_type, name)


# ------------------------------------------------------------------ count_nonzero, norm
def count_nonzero(input, axis=None, keepdims=None, dtype=dt.int64, name=None):
    with op_scope(name, "count_nonzero", [input]) as scope:
        x = _to_tensor(input)
        zero = _scalar_const(b"" if x.dtype.is_string else 0, x.dtype)
        nz = cast(not_equal(x, zero), dt.int64)
        return cast(reduce_sum(nz, axis=axis, keepdims=keepdims), dtype, name=scope)


def count_nonzero_v1(input_tensor=None, axis=None, keepdims=None, dtype=dt.int64, name=None,
                     reduction_indices=None, keep_dims=None, input=None):
    if input is not None:
        if input_tensor is not None:
            raise ValueError("Cannot specify both 'input' and 'input_tensor'")
        input_tensor = input
    return count_nonzero(input_tensor, _resolve_axis(axis, reduction_indices),
                         _resolve_keepdims(keepdims, keep_dims), dtype, name)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """Vector norms (any p >= 1, inf) over one axis or all elements; matrix norms 'fro', 1 and inf
    over two axes. The matrix 2-norm (largest singular value) is not supported."""
    with op_scope(name, "norm", [tensor]) as scope:
        x = _to_tensor(tensor)
        keepdims = bool(keepdims)
        r = x.shape.rank
        if r is None:
            raise ValueError("norm: the input's rank must be known")
        is_matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
        if axis is not None and not is_matrix:
            v = static_value(axis)
            if v is None or np.size(v) != 1:
                raise ValueError(f"norm: 'axis' must be None, an integer, or a tuple of 2 unique integers, "
                                 f"got {axis!r}")
            axis = int(np.ravel(v)[0])
        if is_matrix:
            axes = [normalize_axis(a, r, "norm") for a in axis]
            if axes[0] == axes[1]:
                raise ValueError(f"norm: axes must be unique, got {axis!r}")
            if ord in ("euclidean", "fro"):
                result = sqrt(reduce_sum(square(x), axes, keepdims=True))
            elif ord == 1 or ord == np.inf:
                sum_axis, max_axis = (axes[0], axes[1]) if ord == 1 else (axes[1], axes[0])
                result = reduce_max(reduce_sum(abs(x), sum_axis, keepdims=True), max_axis, keepdims=True)
            else:
                raise ValueError(f"norm: matrix norm ord={ord!r} is not supported by fuseflow "
                                 f"('fro', 'euclidean', 1 and np.inf are)")
        else:
            if ord in ("euclidean", "fro", 2, 2.0):
                result = sqrt(reduce_sum(square(x), axis, keepdims=True))
            elif ord == np.inf:
                result = reduce_max(abs(x), axis, keepdims=True)
            elif isinstance(ord, numbers.Real) and ord >= 1:
                if ord == 1:
                    result = reduce_sum(abs(x), axis, keepdims=True)
                else:
                    p = _scalar_const(ord, x.dtype)
                    result = pow(reduce_sum(pow(abs(x), p), axis, keepdims=True), _scalar_const(1.0 / ord, x.dtype))
            else:
                raise ValueError(f"'ord' must be a supported vector norm, got {ord!r}")
        if not keepdims:
            from .array_ops import squeeze
            result = squeeze(result, axis=axes if is_matrix else axis)
        return _identity_named(result, scope)


def norm_v1(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):
    return norm(tensor, ord, axis, _resolve_keepdims(keepdims, keep_dims), name)


def _identity_named(t, scope):
    if scope is None:
        return t
    from .array_ops import identity
    return identity(t, name=scope)


# ================================================================= cumulative sums/products
def _cumulative(x, axis, exclusive, reverse, name, default, is_sum: bool):
    """out[i] = sum (prod) of x[j] over j <= i (j < i when exclusive; mirrored when reverse),
    as a masked reduction over a broadcast [.., n, n] index map (fused, never materialized)."""
    with op_scope(name, default, [x]) as scope:
        t = _to_tensor(x)
        _check_dtype(default, t, "numeric")
        r = t.shape.rank
        if r is None or r == 0:
            raise ValueError(f"{default}: input must have rank >= 1 and known rank, got shape {t.shape}")
        a = normalize_axis(axis, r, default)
        n = t.shape[a]
        if n is None:
            raise ValueError(f"{default}: the size of axis {a} must be known (shape {t.shape})")
        perm = [i for i in builtins.range(r) if i != a] + [a]
        moved = transpose(t, perm) if a != r - 1 else t
        i, j = np.arange(n)[:, None], np.arange(n)[None, :]
        if reverse:
            mask = j > i if exclusive else j >= i
        else:
            mask = j < i if exclusive else j <= i
        expanded = expand_dims(moved, -2)
        neutral = _scalar_const(0 if is_sum else 1, t.dtype)
        picked = apply_op("select", [_constant(mask, dt.bool_, None, "mask", True), expanded, neutral], {})
        reduced = (reduce_sum if is_sum else reduce_prod)(picked, axis=-1)
        if a != r - 1:
            reduced = transpose(reduced, list(np.argsort(perm)))
        return _identity_named(reduced, scope)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cumulative(x, axis, exclusive, reverse, name, "Cumsum", True)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cumulative(x, axis, exclusive, reverse, name, "Cumprod", False)


# ============================================================================ clipping
def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """maximum(minimum(t, hi), lo), as TF computes it (ties pass the gradient to t); clip values
    may broadcast but must not change t's shape."""
    with op_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = _to_tensor(t)
        lo, hi = (_to_tensor(v) if is_tensor(v) else _to_tensor(v, dtype=core._hint_dtype(v, values.dtype,
                                                                                           "clip_by_value"))
                  for v in (clip_value_min, clip_value_max))
        for v in (lo, hi):
            _check_same("clip_by_value", values, v)
        return apply_op("clip_by_value", [values, lo, hi], {}, name=scope)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2norm(t, axes), clip_norm), NaN-safe where the norm is 0."""
    from .array_ops import identity, ones_like
    with op_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = _to_tensor(t)
        l2sum = reduce_sum(multiply(values, values), axes, keepdims=True)
        pred = greater(l2sum, 0)
        l2sum_safe = apply_op("select", [pred, l2sum, ones_like(l2sum)], {})
        l2norm = apply_op("select", [pred, sqrt(l2sum_safe), l2sum], {})
        intermediate = multiply(values, clip_norm)
        if not values.shape.is_compatible_with(intermediate.shape) or (
                values.shape.rank is not None and intermediate.shape.rank != values.shape.rank):
            raise ValueError(f"clip_by_norm: clip_norm would broadcast t of shape {values.shape}")
        return identity(truediv(intermediate, maximum(l2norm, clip_norm)), name=scope)


def global_norm(t_list, name=None):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    from .nn_ops import l2_loss
    with op_scope(name, "global_norm", list(v for v in t_list if v is not None)) as scope:
        values = [_to_tensor(v) for v in t_list if v is not None]
        half_squared = [l2_loss(v) for v in values]
        half = add_n(half_squared) if len(half_squared) > 1 else half_squared[0]
        return sqrt(multiply(half, 2), name=scope)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scales every tensor by clip_norm / max(global_norm, clip_norm); returns (list, global_norm)."""
    from .array_ops import identity
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    t_list = list(t_list)
    with op_scope(name, "clip_by_global_norm", [v for v in t_list if v is not None]) as scope:
        if use_norm is None:
            use_norm = global_norm(t_list, "global_norm")
        use_norm = _to_tensor(use_norm)
        scale_for_finite = multiply(clip_norm, minimum(truediv(1.0, use_norm),
                                                       truediv(_scalar_const(1.0, use_norm.dtype), clip_norm)))
        scale = add(scale_for_finite, subtract(use_norm, use_norm))
        clipped = []
        for v in t_list:
            if v is None:
                clipped.append(None)
                continue
            vt = _to_tensor(v)
            clipped.append(identity(multiply(vt, cast(scale, vt.dtype))))
        return clipped, use_norm


# ======================================================================= range / linspace
_RANGE_ORDER = [dt.int32, dt.int64, dt.float16, dt.float32, dt.float64]


def _range_values(start, limit, delta, dtype: dt.DType) -> np.ndarray:
    """TF's Range kernel: size from the argument values, elements by repeated addition."""
    s, l, d = (np.asarray(v).astype(dtype.np).item() for v in (start, limit, delta))
    if d == 0:
        raise ValueError(f"Range: Requires delta != 0: {d}")
    if d > 0 and s > l:
        raise ValueError(f"Range: Requires start <= limit when delta > 0: {s}/{l}")
    if d < 0 and s < l:
        raise ValueError(f"Range: Requires start >= limit when delta < 0: {s}/{l}")
    if dtype.is_integer:
        n = (builtins.abs(l - s) + builtins.abs(d) - 1) // builtins.abs(d)
        return (s + d * np.arange(n, dtype=np.int64)).astype(dtype.np)
    with np.errstate(all="ignore"):
        n = int(np.ceil(np.abs((dtype.np.type(l) - dtype.np.type(s)) / dtype.np.type(d))))
    if n == 0:
        return np.zeros((0,), dtype.np)
    steps = np.full(n, d, dtype=dtype.np)
    steps[0] = s
    return np.add.accumulate(steps, dtype=dtype.np)


def range(start, limit=None, delta=1, dtype=None, name="range"):
    """`tf.range`: [start, limit) by delta; dtype is the widest of the arguments' (int32 < int64 <
    float32 < float64) unless given."""
    if limit is None:
        start, limit = 0, start
    with op_scope(name, "Range", [start, limit, delta]) as scope:
        dtype = dt.as_dtype(dtype) if dtype is not None else None
        args = [a if is_tensor(a) else _to_tensor(a, dtype=dtype) for a in (start, limit, delta)]
        for a in args:
            if a.dtype not in _RANGE_ORDER:
                raise TypeError(f"Range: arguments must be int32, int64, float16, float32 or float64, got "
                                f"{a.dtype.name}")
        inferred = dtype or builtins.max((a.dtype for a in args), key=_RANGE_ORDER.index)
        vals = [static_value(a) for a in args]
        if all(v is not None for v in vals):
            return _constant(_range_values(*vals, inferred), inferred, None, scope or "range", True)
        casted = [cast(a, inferred) for a in args]
        return apply_op("range", [], {"start": casted[0], "limit": casted[1], "delta": casted[2],
                                      "dtype": inferred}, name=scope,
                        output_specs=[(inferred, TensorShape([None]))])


def linspace(start, stop, num, name=None, axis=0):
    """`num` evenly spaced values from start to stop inclusive (start/stop may be N-D: the
    sequence runs along `axis`); integer start/stop compute in float64, as TF."""
    with op_scope(name, "linspace", [start, stop]) as scope:
        s = _to_tensor(start)
        e = _to_tensor(stop, dtype=s.dtype) if not is_tensor(stop) else _to_tensor(stop)
        _check_same("LinSpace", s, e)
        n = _as_int(num, "LinSpace: num")
        if n < 0:
            raise ValueError(f"LinSpace: Requires num >= 0: {n}")
        out_dtype = s.dtype if s.dtype.is_floating else dt.float64
        sv, ev = static_value(s), static_value(e)
        if sv is not None and ev is not None:
            f = out_dtype.np.type
            sv, ev = np.asarray(sv, out_dtype.np), np.asarray(ev, out_dtype.np)
            steps = builtins.max(n - 1, 1)
            delta = (ev - sv) / f(steps)
            shape = np.broadcast_shapes(sv.shape, ev.shape)
            idx = np.arange(n, dtype=out_dtype.np).reshape((n,) + (1,) * len(shape))
            vals = (sv + delta * idx).astype(out_dtype.np)
            if n > 1:
                vals[-1] = np.broadcast_to(ev, shape)
            vals = np.moveaxis(vals, 0, axis % (len(shape) + 1)) if shape else vals
            return _constant(np.ascontiguousarray(vals), out_dtype, None, scope or "linspace", True)
        if s.shape.rank != 0 or e.shape.rank != 0:
            raise ValueError("LinSpace: N-D start/stop must be known while building the graph")
        s, e = cast(s, out_dtype), cast(e, out_dtype)
        steps = builtins.max(n - 1, 1)
        delta = truediv(subtract(e, s), _scalar_const(steps, out_dtype))
        idx = _constant(np.arange(n, dtype=out_dtype.np), out_dtype, None, "range", True)
        vals = add(s, multiply(delta, idx))
        if n > 1:
            last = _constant(np.arange(n) == n - 1, dt.bool_, None, "last", True)
            vals = apply_op("select", [last, e, vals], {})
        return _identity_named(vals, scope)


lin_space = linspace


def linspace_v1(start, stop, num, name=None):
    return linspace(start, stop, num, name=name)


# ============================================================================ sorting
def _sorted_along_last(x, descending: bool, k: int):
    """(values, int32 indices) of the first k elements of x sorted along its last axis.

    Sorting by ranking: rank_i = #{j: x_j before x_i} (ties: the lower index first, as TF's
    top_k), then output p takes the element whose rank is p. Both steps are a comparison over a
    broadcast [.., n, n] index map followed by a reduction, so they fuse and never materialize."""
    from .array_ops import expand_dims as _expand
    n = x.shape[-1]
    xi, xj = _expand(x, -1), _expand(x, -2)
    j_before_i = _constant(np.arange(n)[None, :] < np.arange(n)[:, None], dt.bool_, None, "tie_break", True)
    ahead = greater(xj, xi) if descending else less(xj, xi)
    before = logical_or(ahead, logical_and(equal(xj, xi), j_before_i))
    rank = reduce_sum(cast(before, dt.int32), axis=-1)                      # [.., n]: position of x_i
    is_at = equal(_expand(rank, -1), _constant(np.arange(k, dtype=np.int32), dt.int32, None, "positions", True))
    zero = _scalar_const(0, x.dtype)
    values = reduce_sum(apply_op("select", [is_at, _expand(x, -1), zero], {}), axis=-2)
    index = _constant(np.arange(n, dtype=np.int32).reshape(n, 1), dt.int32, None, "index", True)
    indices = reduce_sum(apply_op("select", [is_at, index, _scalar_const(0, dt.int32)], {}), axis=-2)
    return values, indices


def _sort_prepare(values, axis, op):
    t = _to_tensor(values)
    _check_dtype(op, t, "numeric", "values")
    r = t.shape.rank
    if r is None or r == 0:
        raise ValueError(f"{op}: input must have known rank >= 1, got shape {t.shape}")
    a = normalize_axis(axis, r, op)
    if t.shape[a] is None:
        raise ValueError(f"{op}: the size of the sorted axis must be known (shape {t.shape})")
    perm = [i for i in builtins.range(r) if i != a] + [a]
    return t, a, perm, (transpose(t, perm) if a != r - 1 else t)


def _sort_restore(y, a, perm, scope):
    if a != len(perm) - 1:
        return transpose(y, list(np.argsort(perm)), name=scope)
    return _identity_named(y, scope)


def _direction(direction):
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"`direction` must be one of 'ASCENDING' or 'DESCENDING', got {direction!r}")
    return direction == "DESCENDING"


def sort(values, axis=-1, direction="ASCENDING", name=None):
    with op_scope(name, "sort", [values]) as scope:
        t, a, perm, moved = _sort_prepare(values, axis, "sort")
        out, _ = _sorted_along_last(moved, _direction(direction), moved.shape[-1])
        return _sort_restore(out, a, perm, scope)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """int32 indices that sort `values` (equal elements keep their order)."""
    with op_scope(name, "argsort", [values]) as scope:
        t, a, perm, moved = _sort_prepare(values, axis, "argsort")
        _, idx = _sorted_along_last(moved, _direction(direction), moved.shape[-1])
        return _sort_restore(idx, a, perm, scope)


def top_k(input, k=1, sorted=True, index_type=dt.int32, name=None):
    """(values, indices) of the k largest entries along the last axis (ties: lower index first)."""
    from collections import namedtuple
    with op_scope(name, "TopKV2", [input]) as scope:
        t, a, perm, moved = _sort_prepare(input, -1, "TopKV2")
        k = _as_int(k, "TopKV2: k")
        if not 0 <= k <= t.shape[-1]:
            raise ValueError(f"TopKV2: input must have at least k={k} columns, got shape {t.shape}")
        values, indices = _sorted_along_last(t, True, k)
        indices = cast(indices, index_type)
        return namedtuple("TopKV2", ["values", "indices"])(_identity_named(values, scope), indices)


def in_top_k(targets, predictions, k, name=None):
    """Whether each target's prediction is among the k largest of its row (TF2 argument order);
    ties at the boundary count as in the top k, non-finite predictions never do."""
    with op_scope(name, "in_top_k", [targets, predictions]) as scope:
        p = _to_tensor(predictions)
        t = _to_tensor(targets)
        if p.shape.rank != 2 or t.shape.rank != 1:
            raise ValueError(f"InTopKV2: predictions must be 2-D and targets 1-D, got {p.shape} and {t.shape}")
        from .array_ops import expand_dims as _expand, gather
        target_pred = gather(p, _expand(t, -1), axis=1, batch_dims=1)                    # [batch, 1]
        above = reduce_sum(cast(greater(p, target_pred), dt.int32), axis=1)
        k_t = cast(_to_tensor(k), dt.int32) if is_tensor(k) else _scalar_const(k, dt.int32)
        finite = is_finite(reshape(target_pred, [-1]))
        return logical_and(less(above, k_t), finite, name=scope)


def in_top_k_v1(predictions, targets, k, name=None):
    return in_top_k(targets, predictions, k, name)


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=dt.int32, name=None):
    """counts[i, j] = number (or total weight) of examples with label i predicted as j."""
    from .array_ops import one_hot
    with op_scope(name, "confusion_matrix", [labels, predictions, weights]) as scope:
        lab, pred = cast(_to_tensor(labels), dt.int64), cast(_to_tensor(predictions), dt.int64)
        dtype = dt.as_dtype(dtype)
        if num_classes is None:
            lv, pv = static_value(lab), static_value(pred)
            if lv is None or pv is None:
                raise ValueError("confusion_matrix: num_classes is needed when labels/predictions are only known "
                                 "at run time")
            num_classes = int(max(np.max(lv, initial=-1), np.max(pv, initial=-1))) + 1
        n = _as_int(num_classes, "confusion_matrix: num_classes")
        compute = dtype if dtype.is_floating else dt.float64
        rows = one_hot(lab, n, dtype=compute)
        cols = one_hot(pred, n, dtype=compute)
        if weights is not None:
            rows = multiply(rows, reshape(cast(_to_tensor(weights), compute), [-1, 1]))
        counts = matmul(rows, cols, transpose_a=True)
        return cast(counts, dtype, name=scope) if compute != dtype else _identity_named(counts, scope)


# ============================================================================== einsum
def einsum(equation, *inputs, **kwargs):
    """Einstein summation for one or two operands ('ij,jk->ik', 'bij,bjk', '...'-free), as a
    broadcast product reduced over the summed indices: fusion keeps it one kernel."""
    name = kwargs.pop("name", None)
    kwargs.pop("optimize", None)
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        inputs = tuple(inputs[0])
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise NotImplementedError("tf.einsum: ellipsis ('...') subscripts are not supported by fuseflow")
    lhs, _, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs) or not 1 <= len(inputs) <= 2:
        raise ValueError(f"einsum: equation {equation!r} names {len(terms)} operands, got {len(inputs)} "
                         f"(fuseflow supports one or two)")
    if "->" not in eq:
        counts = {c: lhs.count(c) for c in lhs if c != ","}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    with op_scope(name, "einsum", list(inputs)) as scope:
        ts = [_to_tensor(t) for t in inputs]
        if len(ts) == 2:
            ts[0], ts[1] = convert_pair(ts[0], ts[1], "einsum")
            _check_same("einsum", ts[0], ts[1])
        letters = []
        for term in terms:
            if len(set(term)) != len(term):
                raise NotImplementedError(f"tf.einsum: repeated subscripts within one operand ({term!r}) are not "
                                          f"supported by fuseflow")
            letters += [c for c in term if c not in letters]
        if not set(out) <= set(letters) or len(set(out)) != len(out):
            raise ValueError(f"einsum: invalid output subscripts {out!r} in {equation!r}")
        aligned = []
        for term, t in zip(terms, ts):
            if t.shape.rank != len(term):
                raise ValueError(f"einsum: operand {term!r} has rank {t.shape.rank}, shape {t.shape}")
            order = [c for c in letters if c in term]
            moved = transpose(t, [term.index(c) for c in order]) if list(term) != order else t
            shape = [moved.shape[order.index(c)] if c in order else 1 for c in letters]
            aligned.append(reshape(moved, [-1 if d is None else d for d in shape]) if len(order) != len(letters)
                           else moved)
        prod = aligned[0] if len(aligned) == 1 else multiply(aligned[0], aligned[1])
        summed = [i for i, c in enumerate(letters) if c not in out]
        if summed:
            prod = reduce_sum(prod, axis=summed)
        remaining = [c for c in letters if c in out]
        perm = [remaining.index(c) for c in out]
        return transpose(prod, perm, name=scope) if perm != list(builtins.range(len(perm))) else \
            _identity_named(prod, scope)


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=dt.int32, name=None, axis=None,
             binary_output=False):
    """Counts (or sums weights) per value of a non-negative int tensor; the output length
    max(arr) + 1 must be known while tracing, or fixed by minlength == maxlength."""
    from .array_ops import one_hot
    with op_scope(name, "bincount", [arr, weights]) as scope:
        a = _to_tensor(arr)
        if not a.dtype.is_integer:
            raise TypeError(f"bincount: arr must be an integer tensor, got {a.dtype.name}")
        v = static_value(a)
        if v is not None:
            if np.size(v) and np.min(v) < 0:  # one_hot would drop them silently
                raise ValueError(f"bincount: arr must be non-negative, got {int(np.min(v))} (shape "
                                 f"{list(np.shape(v))})")
            length = int(np.max(v)) + 1 if np.size(v) else 0
            length = max(length, minlength or 0)
            length = length if maxlength is None else min(length, int(maxlength))
        elif minlength is not None and minlength == maxlength:
            length = int(minlength)
        else:
            raise ValueError("bincount: the output length (max(arr) + 1) must be known while building the graph; "
                             "pass minlength == maxlength")
        w = _to_tensor(weights) if weights is not None else None
        out_dtype = w.dtype if w is not None else dt.as_dtype(dtype)     # weights decide the dtype, as TF
        hits = one_hot(reshape(a, [-1]), length, dtype=out_dtype)
        if w is not None:
            hits = multiply(hits, reshape(w, [-1, 1]))
        counts = reduce_sum(hits, axis=0)
        if binary_output:
            counts = cast(greater(counts, _scalar_const(0, counts.dtype)), counts.dtype)
        return _identity_named(counts, scope)
