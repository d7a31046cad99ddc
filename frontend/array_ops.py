"""Array ops: TF's tensor creation, shape and indexing functions (`tf.constant`, `tf.reshape`,
`tf.concat`, `x[...]`, ...). Every op is recorded or run through `core.apply_op`.

This is the bottom op module, so the helpers every op module shares live here:
- `op_scope(name, default, values)`: TF's `with name_scope(name, default)` around an op function;
  the function names its final op with the scope string, so `tf.zeros(...)` is 'zeros' and its
  helper constants 'zeros/Const', as in TF.
- `static_value(x)`: the numpy value of `x` when it is known while tracing (Python data, eager
  tensors, graph tensors computable from constants alone), else None.
- `shape_arg(...)`: a shape argument as a static tuple, or a tensor plus what is known of it.

Shape-valued arguments that depend on fed values stay tensors in the op's attrs; replay
(frontend/build.py) folds them once the feeds are known. Ops whose output shape follows from
the input's run-time shape (`tf.shape`, `expand_dims`/`squeeze` of partially known shapes,
`zeros_like`) are recorded as frontend op types with replay handlers defined here.
"""
from __future__ import annotations

import builtins
import contextlib
import numbers
from typing import Optional

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.ops.registry import get_op
from fuseflow.compiler.ops.shape_ops import canonical_strided_slice
from fuseflow.compiler.shapes import SymDim

from . import build
from . import core
from . import graph as graph_mod
from .core import apply_op, convert_to_tensor
from .needs_eager import NeedsEagerExecution
from .tensor import Dimension, EagerTensor, Tensor, TensorShape, is_tensor

newaxis = None


# ================================================================================ helpers
def _flat(values):
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from _flat(v)
    else:
        yield values


def _graph_for(values):
    if graph_mod.graph_is_active():
        return graph_mod.get_default_graph()
    for v in _flat(values):
        if isinstance(v, Tensor):
            return v.graph
    return None


@contextlib.contextmanager
def op_scope(name, default: str, values=()):
    """TF's `name_scope(name, default_name, values)` for one op function.

    Yields the scope string ('zeros/') in graph mode, None when executing eagerly. Passing the
    scope string as an op's name gives that op exactly the scope's name. Eagerly, a TypeError or
    ValueError raised by the op becomes TF's InvalidArgumentError (still an instance of the
    original type), as TF's eager kernels report bad arguments."""
    g = _graph_for(values)
    if g is None:
        try:
            yield None
        except (TypeError, ValueError) as e:
            raise eager_error(e) from None
        return
    with g.name_scope(name if name else default) as scope:
        yield scope


_EAGER_ERROR_TYPES: dict = {}


def eager_error(e: Exception) -> Exception:
    """`e` as an errors.InvalidArgumentError that is also an instance of type(e)."""
    from . import errors
    if isinstance(e, errors.OpError) or core.is_conversion_error(e):
        return e            # TF raises these in Python before any kernel runs: they stay TypeErrors
    base = type(e)
    cls = _EAGER_ERROR_TYPES.get(base)
    if cls is None:
        cls = type("InvalidArgumentError", (errors.InvalidArgumentError, base),
                   {"__module__": errors.__name__,
                    "__doc__": f"InvalidArgumentError raised eagerly; also a {base.__name__}."})
        _EAGER_ERROR_TYPES[base] = cls
    message = str(e)
    if "[at " not in message:
        from .graph import user_location
        loc = user_location()
        if loc is not None:
            message += f" [at {loc}]"   # eager errors name the user's line too
    err = cls(None, None, message)
    err.__traceback__ = e.__traceback__
    return err


def in_graph(values=()) -> bool:
    return _graph_for(values) is not None


def _to_tensor(x, dtype=None, name=None, dtype_hint=None):
    if is_tensor(x) and dtype is not None:
        t = convert_to_tensor(x)
        if t.dtype != dt.as_dtype(dtype):
            raise TypeError(f"Expected {dt.as_dtype(dtype).name}, got {t.dtype.name} tensor {t!r}")
        return t
    return convert_to_tensor(x, dtype=dtype, name=name, dtype_hint=dtype_hint)


_MISSING = object()
_FOLD_LIMIT = 400


def static_value(x) -> Optional[np.ndarray]:
    """The value of `x` if it is known while tracing, else None (never runs fed/variable values)."""
    if hasattr(x, "_as_tensor") and not is_tensor(x):
        x = x._as_tensor()
    if isinstance(x, EagerTensor):
        return x._value
    if isinstance(x, Tensor):
        return _fold(x)
    if isinstance(x, TensorShape):
        return np.asarray(x.as_list(), np.int32) if x.is_fully_defined() else None
    if isinstance(x, Dimension):
        return None if x.value is None else np.asarray(x.value, np.int32)
    if isinstance(x, (list, tuple)):
        if not any(is_tensor(v) or isinstance(v, Dimension) for v in _flat(x)):
            return core._infer_numpy(x, None) if not _has_none(x) else None
        parts = [static_value(v) for v in x]
        if any(p is None for p in parts):
            return None
        return np.asarray(parts)
    if x is None:
        return None
    return core._infer_numpy(x, None)


def _has_none(x) -> bool:
    return any(v is None for v in _flat(x))


def _fold(t: Tensor):
    cached = t.__dict__.get("_ff_static", _MISSING)
    if cached is not _MISSING:
        return cached
    value = None
    if t.op.ir_op == "constant":
        value = t.op.attrs["value"].array
    elif _foldable(t.op):
        try:
            ctx = build.replay([t.op], {})
            value = ctx.static_value(t)
        except (ValueError, TypeError, NotImplementedError, KeyError):
            value = None          # depends on something only known at run time
    t._ff_static = value
    return value


def _foldable(op) -> bool:
    """True when every ancestor is a constant or a pure compiler op (no feeds, variables, RNG)."""
    seen, stack = set(), [op]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if len(seen) > _FOLD_LIMIT:
            return False
        if o.ir_op != "constant":
            try:
                opdef = get_op(o.ir_op)
            except NotImplementedError:
                return False
            if opdef.stateful or opdef.kind == "source":
                return False
        stack.extend(t.op for t in o.inputs)
        stack.extend(v.op for v in o.attrs.values() if isinstance(v, Tensor))
    return True


def rank_of(x) -> Optional[int]:
    return x.shape.rank


def normalize_axis(axis, rank: int, op: str) -> int:
    axis = _as_int(axis, f"{op}: axis")
    if not -max(rank, 1) <= axis < max(rank, 1):
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {rank} "
                         f"(expected -{max(rank, 1)} <= axis < {max(rank, 1)})")
    return axis % rank if rank else 0


def normalize_axes(axis, rank: int, op: str) -> tuple:
    """None -> every axis; int / list / tensor -> sorted unique non-negative axes."""
    if axis is None:
        return tuple(range(rank))
    v = static_value(axis)
    if v is None:
        raise ValueError(f"{op}: the axis argument must be known while building the graph, got {axis!r}")
    v = np.ravel(v)
    if v.size and v.dtype.kind not in "iu":
        raise TypeError(f"{op}: axis must be integers, got {axis!r}")
    return tuple(sorted({normalize_axis(int(a), rank, op) for a in v}))


def _as_int(v, what: str) -> int:
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got {v!r}")
    if isinstance(v, numbers.Integral):
        return int(v)
    s = static_value(v)
    if s is None or np.ndim(s) != 0 or np.asarray(s).dtype.kind not in "iu":
        raise TypeError(f"{what} must be an integer known while building the graph, got {v!r}")
    return int(s)


def shape_arg(shape, op: str):
    """A shape-like argument -> (static tuple, None) or (int tensor, hint).

    The hint lists the known dims (None where only the run time knows), or is None when even
    the number of dims is unknown."""
    if isinstance(shape, TensorShape):
        if not shape.is_fully_defined():
            raise ValueError(f"{op}: cannot use the partially known shape {shape} as a shape argument")
        return tuple(shape.as_list()), None
    if isinstance(shape, (list, tuple)):
        shape = [d.value if isinstance(d, Dimension) else d for d in shape]
        if any(d is None for d in shape):
            raise ValueError(f"{op}: shape {shape} has unknown (None) dimensions")
    v = static_value(shape)
    if v is not None:
        v = np.asarray(v)
        if v.ndim > 1 or (v.size and v.dtype.kind not in "iu"):
            raise TypeError(f"{op}: a shape must be a list of integers or a 1-D int tensor, got {shape!r}")
        return tuple(int(d) for d in np.ravel(v)), None
    hint = None
    if isinstance(shape, (list, tuple)):
        hint = []
        for d in shape:
            s = static_value(d)
            hint.append(int(s) if s is not None and int(s) >= 0 else None)
    t = _to_tensor(shape, dtype_hint=dt.int32)
    if not t.dtype.is_integer:
        raise TypeError(f"{op}: a shape tensor must be int32 or int64, got {t.dtype.name}")
    if t.shape.rank != 1 and t.shape.rank is not None:
        raise ValueError(f"{op}: a shape tensor must be 1-D, got shape {t.shape}")
    if hint is None and t.shape.rank == 1 and t.shape[0] is not None:
        hint = [None] * t.shape[0]
    return t, hint


def _spec(dtype, hint) -> list:
    return [(dtype, TensorShape(hint))]


def _out_shape_from_hint(hint):
    return None if hint is None else [None if (d is None or d < 0) else d for d in hint]


# ============================================================================= constants
def _numpy_value(value, dtype: Optional[dt.DType]) -> np.ndarray:
    if dtype is None:
        return core._infer_numpy(value, None)
    if dtype.is_string:
        return core._infer_numpy(value, dtype)
    natural = np.asarray(value)
    if natural.dtype.kind in "SUO":
        raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype.name}")
    if not isinstance(value, (np.ndarray, np.generic)) and not core._python_value_fits(natural, dtype):
        raise core._conversion_error(value, dtype)     # a Python float never becomes an int (TF)
    if dtype.is_integer and natural.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            if not np.all(np.equal(np.mod(natural, 1), 0)):
                raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype.name}")
    if dtype.is_bool and natural.dtype.kind != "b":
        raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype bool")
    with np.errstate(all="ignore"):
        return natural.astype(dtype.np)   # integers wrap around, as TF's conversion does


def _fit_shape(arr: np.ndarray, shape, allow_broadcast: bool, verify_shape: bool) -> np.ndarray:
    shape, _ = shape_arg(shape, "tf.constant")
    n = int(np.prod(shape, dtype=np.int64))
    if arr.shape == tuple(shape):
        return arr
    if verify_shape:
        raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, got {arr.shape}.")
    if arr.size == n:
        return arr.reshape(shape)
    if allow_broadcast:
        if arr.size == 1:
            return np.full(shape, arr.reshape(()), dtype=arr.dtype)
        raise TypeError(f"Eager execution of tf.constant with unsupported shape. Tensor of shape "
                        f"{list(arr.shape)} has {arr.size} elements, but got `shape` {list(shape)} with "
                        f"{n} elements.")
    # TF1 graph mode: a shorter list is padded with its last element.
    if arr.size > n:
        raise ValueError(f"Too many elements provided. Takes at most {n}, but got {arr.size}.")
    if arr.size == 0:
        return np.zeros(shape, dtype=arr.dtype)
    flat = arr.ravel()
    return np.concatenate([flat, np.repeat(flat[-1:], n - flat.size)]).reshape(shape)


def _constant(value, dtype, shape, name, allow_broadcast: bool, verify_shape: bool = False):
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    if hasattr(value, "_as_tensor") and not is_tensor(value):
        value = value._as_tensor()
    if isinstance(value, Tensor):
        raise TypeError(f"tf.constant: the value must be Python or numpy data, got the symbolic tensor "
                        f"{value.name}; use tf.identity or tf.convert_to_tensor")
    if isinstance(value, EagerTensor):
        if dtype is not None and value.dtype != dtype:
            raise TypeError(f"Expected tensor {value!r} with dtype {dtype!r}, but got dtype {value.dtype!r}.")
        if shape is None:
            return value if not in_graph() else convert_to_tensor(value._value, name=name)
        value = value._value
    arr = _numpy_value(value, dtype)
    if shape is not None:
        arr = _fit_shape(arr, shape, allow_broadcast, verify_shape)
    out_dtype = dtype or (dt.string if arr.dtype == object else dt.from_numpy(arr.dtype))
    if in_graph():
        return core.constant_op(graph_mod.get_default_graph(), arr, out_dtype, name=name or "Const")
    return EagerTensor(arr, out_dtype)


def constant(value, dtype=None, shape=None, name="Const"):
    """TF2 `tf.constant`: with `shape`, a one-element value is broadcast and a value with the same
    number of elements reshaped; anything else is a TypeError."""
    return _constant(value, dtype, shape, name, allow_broadcast=True)


def constant_v1(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """TF1 `tf.constant`: in graph mode a short list is padded with its last element."""
    return _constant(value, dtype, shape, name, allow_broadcast=not in_graph(), verify_shape=verify_shape)


def _scalar_const(value, dtype: dt.DType, name="Const"):
    return _constant(np.asarray(value).astype(dtype.np) if not dtype.is_string else value, dtype, None,
                     name, allow_broadcast=True)


def _fill_value(dtype: dt.DType, one: bool):
    if dtype.is_string:
        return b""
    if dtype.is_bool:
        return one
    return 1 if one else 0


def _filled(shape, value, dtype: dt.DType, name, default: str):
    """zeros/ones/fill: a constant when small and static (as TF), else broadcast_to of a scalar."""
    with op_scope(name, default, [shape]) as scope:
        dims, hint = shape_arg(shape, default)
        if hint is None and not is_tensor(dims):
            if any(d < 0 for d in dims):
                raise ValueError(f"{default}: dimensions must be non-negative, got {list(dims)}")
            n = int(np.prod(dims, dtype=np.int64))
            if scope is None or n < 1000:
                arr = np.full(dims, np.asarray(value, dtype=dtype.np) if not dtype.is_string else value,
                              dtype=dtype.np)
                return _constant(arr, dtype, None, scope or default, allow_broadcast=True)
            return apply_op("broadcast_to", [_scalar_const(value, dtype)], {"shape": dims}, name=scope)
        return apply_op("broadcast_to", [_scalar_const(value, dtype)], {"shape": dims}, name=scope,
                        output_specs=_spec(dtype, _out_shape_from_hint(hint)))


def zeros(shape, dtype=dt.float32, name=None):
    dtype = dt.as_dtype(dtype)
    return _filled(shape, _fill_value(dtype, False), dtype, name, "zeros")


def ones(shape, dtype=dt.float32, name=None):
    dtype = dt.as_dtype(dtype)
    return _filled(shape, _fill_value(dtype, True), dtype, name, "ones")


def fill(dims, value, name=None):
    """`tf.fill`: `value` is a scalar (its dtype is the result's)."""
    with op_scope(name, "Fill", [dims, value]) as scope:
        v = static_value(value)
        if v is not None and not is_tensor(value):
            arr = core._infer_numpy(value, None)
            if arr.ndim:
                raise ValueError(f"Fill: value must be a scalar, got shape {list(arr.shape)}")
            dtype = dt.string if arr.dtype == object else dt.from_numpy(arr.dtype)
            dims_v, hint = shape_arg(dims, "Fill")
            if hint is None and not is_tensor(dims_v):
                full = np.full(dims_v, arr, dtype=arr.dtype)
                if scope is None or full.size < 1000:
                    return _constant(full, dtype, None, scope or "Fill", allow_broadcast=True)
            value = _constant(arr, dtype, None, "value", allow_broadcast=True)
        value = _to_tensor(value)
        if value.shape.rank not in (0, None):
            raise ValueError(f"Fill: value must be a scalar, got shape {value.shape}")
        dims_v, hint = shape_arg(dims, "Fill")
        if is_tensor(dims_v):
            return apply_op("broadcast_to", [value], {"shape": dims_v}, name=scope,
                            output_specs=_spec(value.dtype, _out_shape_from_hint(hint)))
        return apply_op("broadcast_to", [value], {"shape": dims_v}, name=scope)


def _like(input, dtype, name, one: bool, default: str):
    with op_scope(name, default, [input]) as scope:
        x = _to_tensor(input)
        dtype = dt.as_dtype(dtype) if dtype is not None else x.dtype
        value = _fill_value(dtype, one)
        if x.shape.is_fully_defined():
            return _filled(x.shape.as_list(), value, dtype, scope, default)
        # Partially known shape: the output takes the input's run-time shape (see the replay handler).
        return apply_op(default.lower().replace("like", "_like"), [x], {"dtype": dtype, "value": value},
                        name=scope, output_specs=[(dtype, x.shape)])


def zeros_like(input, dtype=None, name=None):
    return _like(input, dtype, name, False, "ZerosLike")


def ones_like(input, dtype=None, name=None):
    return _like(input, dtype, name, True, "OnesLike")


def zeros_like_v1(tensor, dtype=None, name=None, optimize=True):
    return zeros_like(tensor, dtype, name)


def ones_like_v1(tensor, dtype=None, name=None, optimize=True):
    return ones_like(tensor, dtype, name)


@build.replay_handler("zeros_like")
@build.replay_handler("ones_like")
def _replay_filled_like(ctx, op, inputs):
    em = ctx.emitter(op)
    shape = tuple(ctx.graph.value_type(inputs[0]).shape)
    dtype = op.attrs["dtype"]
    scalar = em.constant(np.asarray(op.attrs["value"], dtype=dtype.np))
    return [em.emit("broadcast_to", scalar, shape=shape, name=op.name)]


# ============================================================================ shape info
def shape(input, out_type=dt.int32, name=None):
    """`tf.shape`: an int32 (or `out_type`) vector; a constant when the shape is static."""
    out_type = dt.as_dtype(out_type if out_type is not None else dt.int32)
    with op_scope(name, "Shape", [input]) as scope:
        x = _to_tensor(input)
        if x.shape.is_fully_defined():
            return _constant(np.asarray(x.shape.as_list(), dtype=out_type.np), out_type, None,
                             scope or "Shape", allow_broadcast=True)
        n = x.shape.rank
        return apply_op("shape", [x], {"out_type": out_type}, name=scope,
                        output_specs=[(out_type, TensorShape([n]))])


def shape_v1(input, name=None, out_type=dt.int32):
    return shape(input, out_type=out_type, name=name)


@build.replay_handler("shape")
def _replay_shape(ctx, op, inputs):
    em = ctx.emitter(op)
    dims = ctx.graph.value_type(inputs[0]).shape
    out_type = op.attrs["out_type"]
    static = np.asarray([0 if isinstance(d, SymDim) else d for d in dims], dtype=out_type.np)
    result = em.constant(static)
    for i, d in enumerate(dims):
        if isinstance(d, SymDim):   # add size(axis i) * e_i: built from elementwise ops only
            size = em.cast(em.emit("size", inputs[0], axes=(i,)), dtype=out_type)
            unit = em.constant(np.eye(len(dims), dtype=out_type.np)[i])
            result = em.add(result, em.mul(unit, size))
    return [result]


def shape_n(input, out_type=dt.int32, name=None):
    return [shape(x, out_type=out_type) for x in input]


def size(input, out_type=dt.int32, name=None):
    out_type = dt.as_dtype(out_type)
    with op_scope(name, "Size", [input]) as scope:
        x = _to_tensor(input)
        if x.shape.is_fully_defined():
            return _constant(np.asarray(x.shape.num_elements(), dtype=out_type.np), out_type, None,
                             scope or "Size", allow_broadcast=True)
        if x.shape.rank is None:
            raise ValueError(f"Size: the rank of {x!r} is unknown; fuseflow needs at least the rank")
        n = apply_op("size", [x], {"axes": tuple(range(x.shape.rank))},
                     name=None if scope is None else scope + "Size")
        return n if out_type == dt.int32 else apply_op("cast", [n], {"dtype": out_type}, name=scope)


def size_v1(input, name=None, out_type=dt.int32):
    return size(input, out_type=out_type, name=name)


def rank(input, name=None):
    with op_scope(name, "Rank", [input]) as scope:
        x = _to_tensor(input)
        if x.shape.rank is None:
            raise ValueError(f"Rank: the rank of {x!r} is unknown while building the graph")
        return _constant(np.asarray(x.shape.rank, np.int32), dt.int32, None, scope or "Rank",
                         allow_broadcast=True)


# ======================================================================= reshaping family
def reshape(tensor, shape, name=None):
    with op_scope(name, "Reshape", [tensor, shape]) as scope:
        x = _to_tensor(tensor)
        dims, hint = shape_arg(shape, "Reshape")
        if is_tensor(dims):
            return apply_op("reshape", [x], {"shape": dims}, name=scope,
                            output_specs=_spec(x.dtype, _out_shape_from_hint(hint)))
        if sum(1 for d in dims if d == -1) > 1:
            raise ValueError(f"Reshape: only one input size may be -1, not both in {list(dims)}")
        if any(d < -1 for d in dims):
            raise ValueError(f"Reshape: size {min(dims)} must be non-negative, not {min(dims)}")
        if x.shape.is_fully_defined():
            n = x.shape.num_elements()
            known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
            if (-1 not in dims and known != n) or (-1 in dims and (known == 0 or n % known)):
                raise ValueError(f"Reshape: cannot reshape a tensor with {n} elements to shape {list(dims)} "
                                 f"({known} elements) (input shape {x.shape.as_list()})")
        else:   # the requested shape is the static shape, a -1 unknown until the input's size is
            return apply_op("reshape", [x], {"shape": dims}, name=scope,
                            output_specs=_spec(x.dtype, [None if d == -1 else d for d in dims]))
        return apply_op("reshape", [x], {"shape": dims}, name=scope)


def expand_dims(input, axis, name=None):
    with op_scope(name, "ExpandDims", [input]) as scope:
        x = _to_tensor(input)
        r = x.shape.rank
        if r is None:
            raise ValueError("ExpandDims: the input's rank must be known")
        a = _as_int(axis, "ExpandDims: axis")
        if not -(r + 1) <= a <= r:
            raise ValueError(f"ExpandDims: axis {a} is out of range for a tensor of rank {r} "
                             f"(expected -{r + 1} <= axis <= {r})")
        return apply_op("expand_dims", [x], {"axis": a % (r + 1)}, name=scope)


def expand_dims_v1(input, axis=None, name=None, dim=None):
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        axis = dim
    if axis is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")
    return expand_dims(input, axis, name)


def squeeze(input, axis=None, name=None):
    """Removes size-1 dims (all of them, or those in `axis`, which must have size 1)."""
    with op_scope(name, "Squeeze", [input]) as scope:
        x = _to_tensor(input)
        r = x.shape.rank
        if r is None:
            raise ValueError("Squeeze: the input's rank must be known")
        axes = None
        if axis is not None:
            v = static_value(axis)
            if v is None:
                raise ValueError("Squeeze: axis must be known while building the graph")
            axes = tuple(sorted({normalize_axis(int(a), r, "Squeeze") for a in np.ravel(v)})) or None
        dims = x.shape.as_list()
        for a in axes or ():
            if dims[a] is not None and dims[a] != 1:
                raise ValueError(f"Squeeze: can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]} "
                                 f"(input shape {x.shape})")
        return apply_op("squeeze", [x], {"axis": axes}, name=scope)


def squeeze_v1(input, axis=None, name=None, squeeze_dims=None):
    if squeeze_dims is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'squeeze_dims' and 'axis'")
        axis = squeeze_dims
    return squeeze(input, axis, name)


def transpose(a, perm=None, conjugate=False, name="transpose"):
    with op_scope(name, "transpose", [a]) as scope:
        x = _to_tensor(a)
        r = x.shape.rank
        if r is None:
            raise ValueError("transpose: the input's rank must be known")
        if perm is None:
            perm = tuple(range(r - 1, -1, -1))
        else:
            v = static_value(perm)
            if v is None:
                raise ValueError("transpose: perm must be known while building the graph")
            perm = tuple(int(p) for p in np.ravel(v))
            if sorted(p % r if r else p for p in perm) != list(range(r)) or len(perm) != r:
                raise ValueError(f"transpose: perm {list(perm)} is not a permutation of the {r} dims of "
                                 f"shape {x.shape}")
            perm = tuple(p % r for p in perm)
        if perm == tuple(range(r)):
            return identity(x, name=scope)
        return apply_op("transpose", [x], {"perm": perm}, name=scope)


def transpose_v1(a, perm=None, name="transpose", conjugate=False):
    return transpose(a, perm, conjugate, name)


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    x = _to_tensor(a)
    r = x.shape.rank
    if r is None or r < 2:
        raise ValueError(f"matrix_transpose: the input must have rank >= 2, got shape {x.shape}")
    return transpose(x, list(range(r - 2)) + [r - 1, r - 2], name=name)


def broadcast_to(input, shape, name=None):
    with op_scope(name, "BroadcastTo", [input, shape]) as scope:
        x = _to_tensor(input)
        dims, hint = shape_arg(shape, "BroadcastTo")
        if is_tensor(dims):
            return apply_op("broadcast_to", [x], {"shape": dims}, name=scope,
                            output_specs=_spec(x.dtype, _out_shape_from_hint(hint)))
        return apply_op("broadcast_to", [x], {"shape": dims}, name=scope)


def broadcast_static_shape(shape_x, shape_y):
    from fuseflow.compiler.shapes import broadcast_shapes
    a, b = TensorShape(shape_x), TensorShape(shape_y)
    if a.rank is None or b.rank is None:
        return TensorShape(None)
    sym = lambda s: [SymDim.symbol(f"?{i}") if d is None else d for i, d in enumerate(s.as_list())]
    try:
        out = broadcast_shapes(sym(a), sym(b), op="broadcast_static_shape")
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: {a} and {b}") from None
    return TensorShape([None if isinstance(d, SymDim) else d for d in out])


def broadcast_dynamic_shape(shape_x, shape_y):
    a, b = static_value(shape_x), static_value(shape_y)
    if a is None or b is None:
        raise ValueError("broadcast_dynamic_shape: fuseflow needs both shapes known while building the graph")
    out = np.broadcast_shapes(tuple(int(d) for d in a), tuple(int(d) for d in b))
    return constant(np.asarray(out, dtype=np.asarray(a).dtype if np.asarray(a).size else np.int32))


def identity(input, name=None):
    with op_scope(name, "Identity", [input]) as scope:
        x = _to_tensor(input)
        return apply_op("identity", [x], {}, name=scope)


def stop_gradient(input, name=None):
    with op_scope(name, "StopGradient", [input]) as scope:
        x = _to_tensor(input)
        return apply_op("stop_gradient", [x], {}, name=scope)


# ========================================================================= join and split
def _convert_all(values, op):
    if is_tensor(values):
        x = _to_tensor(values)
        if x.shape.rank is None or x.shape[0] is None:
            raise ValueError(f"{op}: cannot iterate over a tensor of shape {x.shape}")
        return unstack(x)
    tensors = [_to_tensor(v) for v in values]
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty list of tensors")
    # Python values adopt the dtype of the first tensor argument, as TF's list conversion does.
    first = next((t for v, t in zip(values, tensors) if is_tensor(v)), None)
    if first is not None:
        tensors = [t if is_tensor(v) else _to_tensor(v, dtype=core._hint_dtype(v, first.dtype, op))
                   for v, t in zip(values, tensors)]
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: all inputs must have the same dtype, got "
                        f"{', '.join(t.dtype.name for t in tensors)}")
    return tensors


def concat(values, axis, name="concat"):
    with op_scope(name, "concat", [values]) as scope:
        tensors = _convert_all(values, "ConcatV2")
        if len(tensors) == 1:
            return identity(tensors[0], name=scope)
        ranks = {t.shape.rank for t in tensors if t.shape.rank is not None}
        if len(ranks) > 1:
            raise ValueError(f"ConcatV2: all inputs must have the same rank, got shapes "
                             f"{', '.join(str(t.shape) for t in tensors)}")
        r = ranks.pop() if ranks else None
        if r is None:
            raise ValueError("ConcatV2: the inputs' rank must be known")
        if r == 0:
            raise ValueError("ConcatV2: cannot concatenate scalars (use tf.stack instead)")
        a = normalize_axis(axis, r, "ConcatV2")
        return apply_op("concat", tensors, {"axis": a}, name=scope)


def stack(values, axis=0, name="stack"):
    with op_scope(name, "stack", [values]) as scope:
        if not any(is_tensor(v) for v in _flat(values)) and not is_tensor(values):
            arr = core._infer_numpy(values, None)
            if axis != 0:
                arr = np.stack(list(arr), axis=axis) if arr.ndim else arr
            return _constant(arr, None, None, scope or "stack", allow_broadcast=True)
        tensors = _convert_all(values, "Pack")
        shapes = [t.shape for t in tensors]
        r = next((s.rank for s in shapes if s.rank is not None), None)
        if r is None:
            raise ValueError("Pack: the inputs' rank must be known")
        for s in shapes:
            if not s.is_compatible_with(shapes[0]):
                raise ValueError(f"Pack: shapes of all inputs must match: values[0].shape = {shapes[0]} != "
                                 f"values[{shapes.index(s)}].shape = {s}")
        a = _as_int(axis, "Pack: axis")
        if not -(r + 1) <= a <= r:
            raise ValueError(f"Pack: axis {a} is out of range for stacking tensors of rank {r} "
                             f"(expected -{r + 1} <= axis <= {r})")
        return apply_op("stack", tensors, {"axis": a % (r + 1)}, name=scope)


def parallel_stack(values, name="parallel_stack"):
    return stack(values, 0, name)


def unstack(value, num=None, axis=0, name="unstack"):
    with op_scope(name, "unstack", [value]) as scope:
        x = _to_tensor(value)
        r = x.shape.rank
        if r is None or r == 0:
            raise ValueError(f"Unpack: cannot unstack a tensor of shape {x.shape}")
        a = normalize_axis(axis, r, "Unpack")
        n = x.shape[a]
        if num is not None:
            if n is not None and num != n:
                raise ValueError(f"Unpack: num {num} does not match dimension {a} of shape {x.shape}")
            n = num
        if n is None:
            raise ValueError(f"Cannot infer argument `num` from shape {x.shape}")
        if n == 0:
            return []
        out = apply_op("unstack", [x], {"axis": a, "num": n}, name=scope)
        return out if isinstance(out, list) else [out]


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    with op_scope(name, "split", [value]) as scope:
        x = _to_tensor(value)
        r = x.shape.rank
        if r is None:
            raise ValueError("Split: the input's rank must be known")
        a = normalize_axis(axis, r, "Split")
        dim = x.shape[a]
        if isinstance(num_or_size_splits, numbers.Integral) or (
                is_tensor(num_or_size_splits) and num_or_size_splits.shape.rank == 0):
            k = _as_int(num_or_size_splits, "Split: num_or_size_splits")
            if k <= 0:
                raise ValueError(f"Split: the number of splits must be positive, got {k}")
            if dim is None:
                raise ValueError(f"Split: dimension {a} of {x.shape} must be known to split it evenly")
            if dim % k:
                raise ValueError(f"Split: dimension {a} of shape {x.shape} ({dim}) is not divisible by {k}")
            sizes = [dim // k] * k
        else:
            v = static_value(num_or_size_splits)
            if v is None:
                raise ValueError("SplitV: size_splits must be known while building the graph")
            sizes = [int(s) for s in np.ravel(v)]
            if sizes.count(-1) > 1:
                raise ValueError(f"SplitV: at most one size may be -1, got {sizes}")
            if -1 in sizes:
                if dim is None:
                    raise ValueError(f"SplitV: dimension {a} of {x.shape} must be known to infer a -1 size")
                sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
            if dim is not None and sum(sizes) != dim:
                raise ValueError(f"SplitV: sizes {sizes} do not sum to dimension {a} ({dim}) of shape {x.shape}")
            if any(s < 0 for s in sizes):
                raise ValueError(f"SplitV: sizes must be non-negative, got {sizes}")
        out = apply_op("split", [x], {"axis": a, "sizes": tuple(sizes)}, name=scope)
        return out if isinstance(out, list) else [out]


# ================================================================================ slicing
def slice(input_, begin, size, name=None):
    with op_scope(name, "Slice", [input_, begin, size]) as scope:
        x = _to_tensor(input_)
        b, s = static_value(begin), static_value(size)
        if b is None or s is None:
            raise ValueError("Slice: begin and size must be known while building the graph")
        b = tuple(int(v) for v in np.ravel(b))
        s = tuple(int(v) for v in np.ravel(s))
        r = x.shape.rank
        if r is not None and (len(b) != r or len(s) != r):
            raise ValueError(f"Slice: begin {list(b)} and size {list(s)} must both have length {r} "
                             f"(the rank of input shape {x.shape})")
        dims = x.shape.as_list() if r is not None else [None] * len(b)
        for i, (bi, si, d) in enumerate(zip(b, s, dims)):
            if bi < 0 or (d is not None and bi > d) or si < -1 or (d is not None and si != -1 and bi + si > d):
                raise ValueError(f"Slice: begin {list(b)} / size {list(s)} out of range for dimension {i} "
                                 f"of input shape {x.shape}")
        return apply_op("slice", [x], {"begin": b, "size": s}, name=scope)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    with op_scope(name, "StridedSlice", [input_, begin, end, strides]) as scope:
        x = _to_tensor(input_)
        b, e = static_value(begin), static_value(end)
        s = static_value(strides) if strides is not None else np.ones(np.shape(b), np.int32)
        if b is None or e is None or s is None:
            raise ValueError("StridedSlice: begin, end and strides must be known while building the graph")
        b, e, s = ([int(v) for v in np.ravel(a)] for a in (b, e, s))
        if not len(b) == len(e) == len(s):
            raise ValueError(f"StridedSlice: begin, end and strides must have the same length, got "
                             f"{b}, {e}, {s}")
        if any(v == 0 for v in s):
            raise ValueError(f"StridedSlice: strides must be non-zero, got {s}")
        if x.shape.rank is None:
            raise ValueError("StridedSlice: the input's rank must be known")
        attrs = canonical_strided_slice(x.shape.as_list(), b, e, s, begin_mask=int(begin_mask),
                                        end_mask=int(end_mask), ellipsis_mask=int(ellipsis_mask),
                                        new_axis_mask=int(new_axis_mask), shrink_axis_mask=int(shrink_axis_mask))
        return apply_op("strided_slice", [x], attrs, name=scope)


def _index_value(v):
    """A static int from a Python/numpy int or an integer scalar tensor; None if not static."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                        f"int32/int64 tensors are valid indices, got {v!r}")
    if isinstance(v, numbers.Integral):
        return int(v)
    s = static_value(v)
    if s is None:
        return None
    s = np.asarray(s)
    if s.ndim != 0 or s.dtype.kind not in "iu":
        raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                        f"int32/int64 tensors are valid indices, got {v!r}")
    return int(s)


def tensor_getitem(tensor, slice_spec):
    """`x[...]`: Python indexing (ints, slices incl. negative steps, Ellipsis, tf.newaxis, scalar
    int tensors) as one strided_slice, as TF's `_slice_helper`. A scalar index known only at run
    time becomes a gather along its axis."""
    if not isinstance(slice_spec, tuple):
        slice_spec = (slice_spec,)
    x = _to_tensor(tensor)
    begin, end, strides = [], [], []
    begin_mask = end_mask = ellipsis_mask = new_axis_mask = shrink_axis_mask = 0
    dynamic = []          # (spec position, index tensor): gathered after the static slice
    for i, s in enumerate(slice_spec):
        if isinstance(s, builtins.slice):
            parts = []
            for part in (s.start, s.stop, s.step):
                v = None if part is None else _index_value(part)
                if part is not None and v is None:
                    raise ValueError(f"Slice bounds must be known while building the graph, got {part!r}")
                parts.append(v)
            start, stop, step = parts
            if step == 0:
                raise ValueError("slice step cannot be zero")
            begin.append(0 if start is None else start)
            end.append(0 if stop is None else stop)
            strides.append(1 if step is None else step)
            begin_mask |= (start is None) << i
            end_mask |= (stop is None) << i
        elif s is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            ellipsis_mask |= 1 << i
        elif s is None:
            begin.append(0), end.append(0), strides.append(1)
            new_axis_mask |= 1 << i
        else:
            if isinstance(s, (list, np.ndarray)) or (is_tensor(s) and s.shape.rank not in (0, None)):
                raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and "
                                f"scalar int32/int64 tensors are valid indices, got {s!r}; use tf.gather "
                                f"for tensor indices")
            v = _index_value(s)
            if v is None:          # a run-time scalar: take the whole axis here, gather it below
                dynamic.append((i, s))
                begin.append(0), end.append(0), strides.append(1)
                begin_mask |= 1 << i
                end_mask |= 1 << i
                continue
            begin.append(v)
            end.append(v + 1)
            strides.append(1)
            shrink_axis_mask |= 1 << i
    out = strided_slice(x, begin, end, strides, begin_mask=begin_mask, end_mask=end_mask,
                        ellipsis_mask=ellipsis_mask, new_axis_mask=new_axis_mask,
                        shrink_axis_mask=shrink_axis_mask, name="strided_slice")
    for i, index in reversed(dynamic):
        axis = _output_axis(slice_spec, i, x.shape.rank)
        index = _to_tensor(index)
        if not index.dtype.is_integer:
            raise TypeError(f"Tensor indices must be int32 or int64, got {index.dtype.name}")
        d = out.shape[axis]
        if d is not None:   # negative indices count from the end, as in Python
            from .math_ops import floormod
            index = floormod(index, _scalar_const(d, index.dtype))
        out = gather(out, index, axis=axis)
    return out


def _output_axis(spec, position: int, rank: int) -> int:
    """The output axis that spec[position] (a full slice) produces in the strided slice."""
    consuming = sum(1 for s in spec if s is not None and s is not Ellipsis)
    axis = 0
    for s in spec[:position]:
        if s is Ellipsis:
            axis += rank - consuming
        elif s is None or isinstance(s, builtins.slice):
            axis += 1
        elif _index_value(s) is None:
            axis += 1
    return axis


# ========================================================================= other movement
def tile(input, multiples, name=None):
    with op_scope(name, "Tile", [input, multiples]) as scope:
        x = _to_tensor(input)
        m = static_value(multiples)
        if m is None:
            raise ValueError("Tile: multiples must be known while building the graph")
        m = tuple(int(v) for v in np.ravel(m))
        if x.shape.rank is not None and len(m) != x.shape.rank:
            raise ValueError(f"Tile: multiples {list(m)} must have length {x.shape.rank} "
                             f"(the rank of input shape {x.shape})")
        if any(v < 0 for v in m):
            raise ValueError(f"Tile: multiples must be non-negative, got {list(m)}")
        return apply_op("tile", [x], {"multiples": m}, name=scope)


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    with op_scope(name, "Pad", [tensor, paddings]) as scope:
        x = _to_tensor(tensor)
        p = static_value(paddings)
        if p is None:
            raise ValueError("Pad: paddings must be known while building the graph")
        p = np.asarray(p).astype(np.int64)
        r = x.shape.rank
        if p.ndim != 2 or p.shape[1] != 2 or (r is not None and p.shape[0] != r):
            raise ValueError(f"Pad: paddings must have shape [{r}, 2], got {list(p.shape)}")
        if (p < 0).any():
            raise ValueError(f"Pad: paddings must be non-negative, got {p.tolist()}")
        mode = mode.upper()
        if mode not in ("CONSTANT", "REFLECT", "SYMMETRIC"):
            raise ValueError(f"Pad: unknown padding mode {mode!r} (CONSTANT, REFLECT or SYMMETRIC)")
        cv = static_value(constant_values)
        if cv is None:
            raise ValueError("Pad: constant_values must be known while building the graph")
        cv = np.asarray(cv).astype(x.dtype.np).item() if not x.dtype.is_string else cv
        return apply_op("pad", [x], {"paddings": tuple(tuple(int(v) for v in row) for row in p),
                                     "mode": mode, "constant_value": cv}, name=scope)


def pad_v1(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    return pad(tensor, paddings, mode, constant_values, name)


def reverse(tensor, axis, name=None):
    with op_scope(name, "ReverseV2", [tensor]) as scope:
        x = _to_tensor(tensor)
        r = x.shape.rank
        if r is None:
            raise ValueError("ReverseV2: the input's rank must be known")
        axes = normalize_axes(axis, r, "ReverseV2")
        if not axes:
            return identity(x, name=scope)
        return apply_op("reverse", [x], {"axes": axes}, name=scope)


reverse_v2 = reverse


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    with op_scope(name, "GatherV2", [params, indices]) as scope:
        p = _to_tensor(params)
        i = _to_tensor(indices)
        if not i.dtype.is_integer:
            raise TypeError(f"GatherV2: indices must be int32 or int64, got {i.dtype.name}")
        r = p.shape.rank
        if r is None:
            raise ValueError("GatherV2: the rank of params must be known")
        a = normalize_axis(batch_dims if axis is None else axis, r, "GatherV2")
        bd = _as_int(batch_dims, "GatherV2: batch_dims")
        if bd < 0:
            bd += i.shape.rank
        return apply_op("gather", [p, i], {"axis": a, "batch_dims": bd}, name=scope)


def gather_v1(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    return gather(params, indices, validate_indices, axis, batch_dims, name)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    with op_scope(name, "one_hot", [indices, depth, on_value, off_value]) as scope:
        idx = _to_tensor(indices)
        if not idx.dtype.is_integer:
            raise TypeError(f"OneHot: indices must be uint8, int32 or int64, got {idx.dtype.name}")
        d = _as_int(depth, "OneHot: depth")
        if d < 0:
            raise ValueError(f"OneHot: depth must be non-negative, got {d}")
        given = [v for v in (on_value, off_value) if v is not None]
        if dtype is not None:
            dtype = dt.as_dtype(dtype)
        elif given and is_tensor(given[0]):
            dtype = _to_tensor(given[0]).dtype
        elif given:
            dtype = dt.as_dtype(core._infer_numpy(given[0], None).dtype)
        else:
            dtype = dt.float32
        on = static_value(on_value) if on_value is not None else np.asarray(1)
        off = static_value(off_value) if off_value is not None else np.asarray(0)
        if on is None or off is None:
            raise ValueError("OneHot: on_value and off_value must be known while building the graph")
        r = idx.shape.rank
        a = -1 if axis is None else int(axis)
        if r is not None and not -1 <= a <= r:
            raise ValueError(f"OneHot: axis {a} must be -1 or in [0, {r}] for indices of shape {idx.shape}")
        return apply_op("one_hot", [idx], {"depth": d, "on_value": np.asarray(on).astype(dtype.np).item(),
                                           "off_value": np.asarray(off).astype(dtype.np).item(),
                                           "axis": a if a != -1 else (r if r is not None else -1),
                                           "dtype": dtype}, name=scope)


def meshgrid(*args, **kwargs):
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"meshgrid: unexpected keyword arguments {sorted(kwargs)}")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    with op_scope(name, "meshgrid", list(args)) as scope:
        xs = [reshape(_to_tensor(a), [-1]) for a in args]
        n = len(xs)
        if n == 0:
            return []
        sizes = [x.shape[0] for x in xs]
        if any(s is None for s in sizes):
            raise ValueError("meshgrid: the inputs' sizes must be known")
        out_shape = list(sizes)
        if indexing == "xy" and n > 1:
            out_shape[0], out_shape[1] = out_shape[1], out_shape[0]
        outs = []
        for i, x in enumerate(xs):
            pos = i
            if indexing == "xy" and n > 1 and i < 2:
                pos = 1 - i
            dims = [1] * n
            dims[pos] = sizes[i]
            outs.append(broadcast_to(reshape(x, dims), out_shape))
        return outs


def _select_operands(condition, x, y, op: str):
    """The checked (condition, x, y) tensors of tf.where / tf.compat.v1.where."""
    if x is None or y is None:
        raise ValueError("tf.where: x and y must both be given, or neither")
    c = _to_tensor(condition)
    if not c.dtype.is_bool:
        raise TypeError(f"{op}: condition must be a bool tensor, got {c.dtype.name}")
    xt, yt = core.convert_pair(x, y, op)
    if xt.dtype != yt.dtype:
        raise TypeError(f"{op}: x and y must have the same dtype, got {xt.dtype.name} and {yt.dtype.name}")
    return c, xt, yt


def where(condition, x=None, y=None, name=None):
    """TF2 `tf.where` (where_v2): broadcasting select; with only `condition`, the indices of its
    True elements (eager only: the result's size depends on the data)."""
    if x is None and y is None:
        return _where_indices(condition, name)
    with op_scope(name, "SelectV2", [condition, x, y]) as scope:
        c, xt, yt = _select_operands(condition, x, y, "SelectV2")
        return apply_op("select", [c, xt, yt], {}, name=scope)


def where_v1(condition, x=None, y=None, name=None):
    """TF1 `tf.where`: x and y have the condition's shape, or the condition is a vector that
    selects rows (entries along the first dimension)."""
    if x is None and y is None:
        return _where_indices(condition, name)
    with op_scope(name, "Select", [condition, x, y]) as scope:
        c, xt, yt = _select_operands(condition, x, y, "Select")
        if not xt.shape.is_compatible_with(yt.shape):
            raise ValueError(f"Select: x and y must have the same shape, got {xt.shape} and {yt.shape}")
        cr, xr = c.shape.rank, xt.shape.rank
        if cr is not None and xr is not None and cr != xr:
            if cr == 1 and xr > 1:
                if c.shape[0] is not None and xt.shape[0] is not None and c.shape[0] != xt.shape[0]:
                    raise ValueError(f"Select: the condition vector's size {c.shape[0]} must match the first "
                                     f"dimension of x {xt.shape}")
                c = reshape(c, [-1] + [1] * (xr - 1))
            else:
                raise ValueError(f"Select: condition of shape {c.shape} must be a vector or have the shape "
                                 f"of x {xt.shape}")
        elif not c.shape.is_compatible_with(xt.shape):
            raise ValueError(f"Select: condition of shape {c.shape} must have the shape of x {xt.shape}")
        return apply_op("select", [c, xt, yt], {}, name=scope)


def _where_indices(condition, name):
    c = _to_tensor(condition)
    if in_graph([c]):
        raise NeedsEagerExecution(
            "tf.where(condition)", "tf.where(condition) with neither x nor y returns a data-dependent number of "
            "indices, which fuseflow cannot compile; use tf.where(condition, x, y) or run it eagerly")
    arr = np.asarray(c._value)
    if arr.dtype != np.bool_:
        arr = arr != 0
    return EagerTensor(np.argwhere(arr).astype(np.int64), dt.int64)


def sequence_mask(lengths, maxlen=None, dtype=dt.bool_, name=None):
    from . import math_ops
    with op_scope(name, "SequenceMask", [lengths, maxlen]) as scope:
        lt = _to_tensor(lengths)
        if maxlen is None:
            v = static_value(lt)
            if v is None:
                raise ValueError("sequence_mask: without maxlen the lengths must be known while building "
                                 "the graph (the output size depends on them)")
            maxlen = int(np.max(v)) if np.size(v) else 0
        m = _as_int(maxlen, "sequence_mask: maxlen")
        r = math_ops.range(m, dtype=lt.dtype)
        mask = math_ops.less(r, expand_dims(lt, -1))
        dtype = dt.as_dtype(dtype)
        return mask if dtype.is_bool else math_ops.cast(mask, dtype, name=scope)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dt.float32, name=None):
    dtype = dt.as_dtype(dtype)
    n = _as_int(num_rows, "eye: num_rows")
    m = n if num_columns is None else _as_int(num_columns, "eye: num_columns")
    arr = np.eye(n, m, dtype=dtype.np)
    if batch_shape is not None:
        bs, _ = shape_arg(batch_shape, "eye")
        arr = np.broadcast_to(arr, tuple(bs) + arr.shape).copy()
    return _constant(arr, dtype, None, name or "eye", allow_broadcast=True)


# ======================================================================= gathers, scatters
def gather_nd(params, indices, batch_dims=0, name=None):
    if batch_dims:
        from .api.extra_ops import gather_nd_batched
        return gather_nd_batched(params, indices, batch_dims)
    with op_scope(name, "GatherNd", [params, indices]) as scope:
        return apply_op("gather_nd", [_to_tensor(params), _to_tensor(indices)], {}, name=scope)


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of `shape` with `updates` added at `indices` (duplicates accumulate)."""
    with op_scope(name, "ScatterNd", [indices, updates, shape]) as scope:
        dims, _ = shape_arg(shape, "ScatterNd")
        if is_tensor(dims):
            raise ValueError("ScatterNd: shape must be known while building the graph")
        return apply_op("scatter_nd", [_to_tensor(indices), _to_tensor(updates)], {"shape": dims}, name=scope)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    with op_scope(name, "UnsortedSegmentSum", [data, segment_ids]) as scope:
        n = _as_int(num_segments, "UnsortedSegmentSum: num_segments")
        return apply_op("unsorted_segment_sum", [_to_tensor(data), _to_tensor(segment_ids)],
                        {"num_segments": n, "axis": 0, "batch_dims": 0}, name=scope)


def segment_sum(data, segment_ids, name=None):
    """Sums over sorted segment ids; the number of segments (max id + 1) must be known while tracing."""
    with op_scope(name, "SegmentSum", [data, segment_ids]) as scope:
        ids = static_value(segment_ids)
        if ids is None:
            raise ValueError("SegmentSum: segment_ids must be known while building the graph (they fix the "
                             "output size); use tf.math.unsorted_segment_sum with num_segments")
        ids = np.asarray(ids)
        if ids.size and np.any(np.diff(ids.ravel()) < 0):
            raise ValueError("SegmentSum: segment_ids must be sorted")
        n = int(ids.max()) + 1 if ids.size else 0
        return unsorted_segment_sum(data, segment_ids, n, name=scope)


def boolean_mask(tensor, mask, axis=None, name="boolean_mask"):
    """Elements where `mask` is True (eager only: the result's size depends on the data)."""
    t, m = _to_tensor(tensor), _to_tensor(mask)
    if in_graph([t, m]):
        raise NeedsEagerExecution("tf.boolean_mask", "tf.boolean_mask returns a data-dependent number of elements, "
                                  "which fuseflow cannot compile; use tf.where(mask, x, y) or run it eagerly")
    a = 0 if axis is None else normalize_axis(axis, t.shape.rank, "boolean_mask")
    arr, mk = np.asarray(t._value), np.asarray(m._value).astype(bool)
    k = mk.ndim
    if k == 0 or arr.shape[a:a + k] != mk.shape:
        # np.compress would silently truncate to the shorter of the two
        loc = graph_mod.user_location()
        raise ValueError(f"boolean_mask: mask shape {list(mk.shape)} must be non-scalar and match the "
                         f"dimensions from axis {a} of the tensor's shape {list(arr.shape)}"
                         + (f" [at {loc}]" if loc else ""))
    lead = arr.shape[:a]
    flat = arr.reshape(lead + (-1,) + arr.shape[a + k:])
    if t.dtype.is_floating and _tape_recording():      # differentiable: a gather the tape records
        keep = EagerTensor(np.flatnonzero(mk.ravel()).astype(np.int64), dt.int64)
        return gather(reshape(t, list(flat.shape)), keep, axis=a)
    picked = np.compress(mk.ravel(), flat, axis=a)
    return EagerTensor(np.ascontiguousarray(picked), t.dtype)


def _tape_recording() -> bool:
    from . import tape
    return any(tp._recording for tp in tape._active())


# ============================================================================== repeating
def repeat(input, repeats, axis=None, name=None):
    """Repeats elements (a scalar count, or one count per element along `axis`; None flattens)."""
    with op_scope(name, "Repeat", [input, repeats]) as scope:
        x = _to_tensor(input)
        if axis is None:
            x = reshape(x, [-1])
            axis = 0
        r = x.shape.rank
        a = normalize_axis(axis, r, "Repeat")
        n = x.shape[a]
        reps = static_value(repeats)
        if reps is None or n is None:
            raise ValueError("Repeat: repeats and the size of the axis must be known while building the graph")
        reps = np.broadcast_to(np.asarray(reps, np.int64).ravel(), (n,)) if np.size(reps) == 1 else \
            np.asarray(reps, np.int64).ravel()
        if reps.size != n:
            raise ValueError(f"Repeat: repeats has {reps.size} entries but axis {a} has size {n}")
        index = np.repeat(np.arange(n, dtype=np.int32), reps)
        return gather(x, _constant(index, dt.int32, None, "indices", True), axis=a, name=scope)


def roll(input, shift, axis, name=None):
    """Rolls elements along axes (elements shifted past the end re-enter at the front)."""
    with op_scope(name, "Roll", [input, shift, axis]) as scope:
        x = _to_tensor(input)
        shifts = np.ravel(static_value(shift)) if static_value(shift) is not None else None
        axes = np.ravel(static_value(axis)) if static_value(axis) is not None else None
        if shifts is None or axes is None or shifts.size != axes.size:
            raise ValueError("Roll: shift and axis must be known while building the graph and have equal sizes")
        total = {}
        for s, a in zip(shifts, axes):
            a = normalize_axis(int(a), x.shape.rank, "Roll")
            total[a] = total.get(a, 0) + int(s)
        out = x
        for a, s in sorted(total.items()):
            n = x.shape[a]
            if n is None:
                raise ValueError(f"Roll: dimension {a} of {x.shape} must be known")
            index = (np.arange(n) - s) % n if n else np.zeros(0, np.int64)
            out = gather(out, _constant(index.astype(np.int32), dt.int32, None, "indices", True), axis=a)
        return identity(out, name=scope)


# ===================================================================== shape assertions
def ensure_shape(x, shape, name=None):
    t = _to_tensor(x)
    want = TensorShape(shape)
    if not t.shape.is_compatible_with(want):
        raise ValueError(f"Shape of tensor {getattr(t, 'name', 'x') if in_graph([t]) else 'x'} {t.shape} is "
                         f"not compatible with expected shape {want}.")
    if isinstance(t, Tensor):
        t.set_shape(want)
    return t


def identity_n(input, name=None):
    return [identity(x) for x in input]


def get_static_value(tensor, partial=False):
    """The value of `tensor` if it can be computed without running the graph, else None."""
    v = static_value(tensor)
    return None if v is None else np.asarray(v)


# ================================================================================ linalg
def matrix_diag_part(input, name="diag_part"):
    with op_scope(name, "diag_part", [input]) as scope:
        x = _to_tensor(input)
        if x.shape.rank is None or x.shape.rank < 2 or None in x.shape.as_list()[-2:]:
            raise ValueError(f"diag_part: input must have rank >= 2 and known matrix dims, got {x.shape}")
        m, n = x.shape.as_list()[-2:]
        k = min(m, n)
        flat = reshape(x, [-1, m * n]) if x.shape.rank == 2 or x.shape.is_fully_defined() else None
        if flat is None:
            raise ValueError(f"diag_part: the input's shape must be fully known, got {x.shape}")
        idx = _constant((np.arange(k) * (n + 1)).astype(np.int32), dt.int32, None, "indices", True)
        out = gather(flat, idx, axis=1)
        return reshape(out, x.shape.as_list()[:-2] + [k], name=scope)


def matrix_diag(diagonal, name="diag"):
    with op_scope(name, "diag", [diagonal]) as scope:
        d = _to_tensor(diagonal)
        n = d.shape[-1] if d.shape.rank else None
        if n is None:
            raise ValueError(f"diag: the last dimension of the diagonal must be known, got {d.shape}")
        eye_mask = _constant(np.eye(n, dtype=bool), dt.bool_, None, "eye", True)
        zero = _scalar_const(0, d.dtype)
        return apply_op("select", [eye_mask, expand_dims(d, -1), zero], {}, name=scope)


def trace(x, name=None):
    from .math_ops import reduce_sum
    with op_scope(name, "Trace", [x]) as scope:
        return reduce_sum(matrix_diag_part(x), axis=-1, name=scope)


def matrix_band_part(input, num_lower, num_upper, name=None):
    with op_scope(name, "MatrixBandPart", [input]) as scope:
        x = _to_tensor(input)
        if x.shape.rank is None or x.shape.rank < 2 or None in x.shape.as_list()[-2:]:
            raise ValueError(f"band_part: the input must have rank >= 2 and known matrix dims (the band mask is "
                             f"built with the graph), got shape {x.shape}")
        m, n = x.shape.as_list()[-2:]
        lo, hi = _as_int(num_lower, "band_part: num_lower"), _as_int(num_upper, "band_part: num_upper")
        i, j = np.arange(m)[:, None], np.arange(n)[None, :]
        keep = ((lo < 0) | (i - j <= lo)) & ((hi < 0) | (j - i <= hi))
        mask = _constant(keep, dt.bool_, None, "band", True)
        return apply_op("select", [mask, x, _scalar_const(0, x.dtype)], {}, name=scope)


def unique(x, out_idx=dt.int32, name=None):
    """(y, idx): the distinct values in order of first occurrence, and each element's position in
    y (eager only: the result's size depends on the data)."""
    from collections import namedtuple
    t = _to_tensor(x)
    if in_graph([t]):
        raise NeedsEagerExecution("tf.unique", "tf.unique returns a data-dependent number of elements, which "
                                  "fuseflow cannot compile; run it eagerly")
    if t.shape.rank != 1:
        raise ValueError(f"unique: x must be a vector, got shape {t.shape}")
    arr = np.asarray(t._value)
    values, first, inverse = np.unique(arr, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank_of = np.empty_like(order)
    rank_of[order] = np.arange(order.size)
    out_idx = dt.as_dtype(out_idx)
    y = EagerTensor(np.ascontiguousarray(values[order]).astype(arr.dtype), t.dtype)
    idx = EagerTensor(rank_of[inverse.ravel()].astype(out_idx.np), out_idx)
    return namedtuple("Unique", ["y", "idx"])(y, idx)
