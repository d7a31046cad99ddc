"""The one entry every op function goes through: `apply_op`.

In graph mode it records an `Operation` in the current frontend graph with statically
inferred output dtypes/shapes (from the compiler's type rules; unknown dims stay None). In
eager mode it runs the op at once through a compiled single-op program (see eager.py), so
eager and compiled code share every op definition.
"""
from __future__ import annotations

import itertools
from typing import Optional, Sequence

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.ir import Literal, TensorType
from fuseflow.compiler.ops.registry import OpError, get_op
from fuseflow.compiler.shapes import SymDim

from . import graph as graph_mod
from .tensor import EagerTensor, Tensor, TensorShape, is_tensor

_unknown_dims = itertools.count()

# Observers of eagerly executed ops, `hook(op_type, inputs, attrs, outputs)`; empty unless a
# GradientTape is recording, so the eager fast path pays one list truth test.
EAGER_OP_HOOKS: list = []


def _static_type(t: Tensor) -> Optional[TensorType]:
    """A TensorType for shape inference: unknown dims become fresh symbols; unknown rank -> None."""
    shape = t.shape
    if shape.rank is None:
        return None
    return TensorType(tuple(SymDim.symbol(f"?{next(_unknown_dims)}") if d is None else d
                            for d in shape.as_list()), t.dtype)


def _to_tensor_shape(shape) -> TensorShape:
    return TensorShape([None if isinstance(d, SymDim) else d for d in shape])


def infer_output_specs(op_type: str, inputs: Sequence, attrs: dict, loc=None, name=None):
    """[(dtype, TensorShape)] for an op on (possibly partially known) inputs."""
    opdef = get_op(op_type)
    types = [_static_type(t) for t in inputs]
    frozen = _freeze_attrs(attrs)
    if all(t is not None for t in types):
        outs = opdef.infer_types(types, frozen, loc=loc, name=name)
        return [(o.dtype, _to_tensor_shape(o.shape)) for o in outs]
    # Unknown rank somewhere: infer dtypes (and output count) with scalar stand-ins.
    stand_ins = [t if t is not None else TensorType((), x.dtype) for t, x in zip(types, inputs)]
    try:
        outs = opdef.infer_types(stand_ins, frozen, loc=loc, name=name)
        return [(o.dtype, TensorShape(None)) for o in outs]
    except OpError:
        return [(inputs[0].dtype if inputs else dt.float32, TensorShape(None))]


def _freeze_attrs(attrs: dict):
    from fuseflow.compiler.ir import Attrs
    return Attrs({k: v for k, v in attrs.items()})


def apply_op(op_type: str, inputs: Sequence, attrs: Optional[dict] = None, name: Optional[str] = None,
             output_specs=None):
    """Record or run one op. Returns a Tensor, or a list for multi-output ops.

    `output_specs` ([(dtype, TensorShape)]) replaces static inference in graph mode: for ops
    whose attrs are only known at replay (a Tensor-valued shape computed from a fed value)."""
    attrs = dict(attrs or {})
    if _graph_mode(inputs):
        g = _graph_of(inputs)
        inputs = [_capture(g, t) for t in inputs]
        loc = graph_mod.user_location(g.get_name_scope())
        specs = output_specs if output_specs is not None else infer_output_specs(
            op_type, inputs, attrs, loc=loc, name=name)
        op = g.create_op(op_type, inputs, attrs, specs, name=name, loc=loc)
        return op.outputs[0] if len(op.outputs) == 1 else list(op.outputs)
    from .eager import execute
    outs = execute(op_type, [t._value for t in inputs], attrs)
    results = [EagerTensor(o) for o in outs]
    if EAGER_OP_HOOKS:                      # GradientTape (tape.py) records while a tape is active
        for hook in EAGER_OP_HOOKS:
            hook(op_type, inputs, attrs, results)
    return results[0] if len(results) == 1 else results


def _graph_mode(inputs) -> bool:
    return graph_mod.graph_is_active() or any(isinstance(t, Tensor) for t in inputs)


def _graph_of(inputs):
    for t in inputs:
        if isinstance(t, Tensor):
            return t.graph if not graph_mod._graph_stack else graph_mod.get_default_graph()
    return graph_mod.get_default_graph()


def _capture(g, t):
    """Inputs must live in the graph being built; eager values become constants."""
    if isinstance(t, EagerTensor):
        return constant_op(g, t._value, t.dtype)
    if isinstance(t, Tensor) and t.graph is not g:
        capture = getattr(g, "capture", None)
        if capture is not None:
            return capture(t)
        raise ValueError(f"Tensor {t.name} must be from the same graph as the other inputs of this op.")
    return t


# ------------------------------------------------------------------------------ constants
def constant_op(g, value: np.ndarray, dtype: dt.DType, name: Optional[str] = None) -> Tensor:
    loc = graph_mod.user_location(g.get_name_scope())
    op = g.create_op("constant", [], {"value": Literal(value)}, [(dtype, TensorShape(value.shape))],
                     name=name or "Const", loc=loc)
    return op.outputs[0]


def _infer_numpy(value, dtype: Optional[dt.DType]) -> np.ndarray:
    if dtype is not None:
        if dtype.is_string:
            return np.asarray(_encode_strings(value), dtype=object)
        arr = np.asarray(value)
        if arr.dtype.kind in "SUO":
            raise TypeError(f"Cannot convert {value!r} to a tensor of dtype {dtype.name}")
        if isinstance(value, (np.ndarray, np.generic)):
            # numpy data is cast (TF1's make_tensor_proto astype); only fractions cannot become ints
            if dtype.is_integer and arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
                raise _conversion_error(value, dtype)
        elif not _python_value_fits(arr, dtype):
            raise _conversion_error(value, dtype)
        return np.asarray(value, dtype=dtype.np)
    if isinstance(value, (str, bytes)) or (isinstance(value, (list, tuple)) and _is_strings(value)):
        return np.asarray(_encode_strings(value), dtype=object)
    arr = np.asarray(value)
    if arr.dtype.kind in "SU":
        return np.asarray(_encode_strings(arr.tolist()), dtype=object)
    if arr.dtype == np.float64 and not isinstance(value, np.ndarray) and not isinstance(value, np.generic):
        return arr.astype(np.float32)        # Python floats default to float32, as in TF
    if arr.dtype == np.int64 and not isinstance(value, (np.ndarray, np.generic)):
        info = np.iinfo(np.int32)
        if arr.size == 0 or (arr.min() >= info.min and arr.max() <= info.max):
            return arr.astype(np.int32)      # Python ints default to int32 when they fit
    return arr


def _is_strings(v) -> bool:
    if isinstance(v, (str, bytes)):
        return True
    if isinstance(v, (list, tuple)) and v:
        return _is_strings(v[0])
    return False


def _encode_strings(v):
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (list, tuple)):
        return [_encode_strings(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_encode_strings(x) for x in v.tolist()]
    return v


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None, dtype_hint=None):
    """TF's convert_to_tensor: tensors pass through (dtype checked), everything else becomes a constant."""
    dtype = dt.as_dtype(dtype) if dtype is not None else None
    if hasattr(value, "_as_tensor"):
        value = value._as_tensor()
    if isinstance(value, (Tensor, EagerTensor)):
        if dtype is not None and value.dtype != dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for Tensor with dtype "
                             f"{value.dtype.name}: {value!r}")
        return value
    if isinstance(value, (list, tuple)) and any(is_tensor(v) for v in _flatten(value)):
        from .array_ops import stack
        return stack([convert_to_tensor(v, dtype) for v in value])
    hint = preferred_dtype or dtype_hint
    if dtype is None and hint is not None:
        try:
            arr = _infer_numpy(value, dt.as_dtype(hint))
        except (TypeError, ValueError):
            arr = _infer_numpy(value, None)
    else:
        arr = _infer_numpy(value, dtype)
    out_dtype = dt.from_numpy(arr.dtype) if arr.dtype != object else dt.string
    if graph_mod.graph_is_active():
        return constant_op(graph_mod.get_default_graph(), arr, out_dtype, name=name)
    return EagerTensor(arr, out_dtype)


def _flatten(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _flatten(x)
    else:
        yield v


def convert_pair(x, y, name: str):
    """Convert two operands of a binary op: Python values take the dtype of the tensor operand.
    Constants made here are named 'x' / 'y' (in the op's name scope: 'add/y'), as TF names them."""
    if is_tensor(x) and not is_tensor(y):
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=_hint_dtype(y, x.dtype, name), name="y")
    elif is_tensor(y) and not is_tensor(x):
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype=_hint_dtype(x, y.dtype, name), name="x")
    elif is_tensor(x) and is_tensor(y):
        x, y = convert_to_tensor(x, name="x"), convert_to_tensor(y, name="y")
    else:
        # neither is a tensor: like TF, the first operand fixes the dtype and the second converts
        # to it (tf.not_equal(np.int64_array, 0), tf.add(np.float64_array, 1), tf.add(2.0, 3))
        x = convert_to_tensor(x, name="x")
        if x.dtype.is_string or _is_strings(y) or isinstance(y, (str, bytes)):
            y = convert_to_tensor(y, name="y")
        else:
            y = convert_to_tensor(y, dtype=_hint_dtype(y, x.dtype, name), name="y")
    return x, y


def _hint_dtype(value, dtype, name):
    """The dtype a Python/numpy operand of a binary op converts to: the tensor operand's dtype, if
    the value fits it by TF's rules (`int_tensor + 2.0` is a TypeError, `float_tensor + 1` is not)."""
    if isinstance(value, (str, bytes)) or _is_strings(value):
        arr = np.asarray(value, dtype=object)
        kind = "U"
    else:
        arr = np.asarray(value)
        kind = arr.dtype.kind
    if arr.size == 0:
        return dtype                              # an empty list has no elements to convert
    if isinstance(value, (np.ndarray, np.generic)) and kind == "b" and not dtype.is_bool:
        raise _conversion_error(value, dtype)     # numpy bools are not numbers to TF
    if not _python_kind_fits(kind, dtype):
        raise _conversion_error(value, dtype)
    return dtype


def _python_value_fits(arr: np.ndarray, dtype) -> bool:
    """`arr` (np.asarray of a Python value) converts to `dtype` by TF's rules; empty lists always do."""
    return arr.size == 0 or _python_kind_fits(arr.dtype.kind, dtype)


def _python_kind_fits(kind: str, dtype) -> bool:
    """TF's conversion of a Python value to a requested dtype (pywrap_tensor's IsCompatible plus the
    per-dtype converters): ints go to any number type (Python bools count as ints), floats only to
    floating types, bools only to bool, strings only to string."""
    if dtype.is_string:
        return kind in "SUO"
    if dtype.is_bool:
        return kind == "b"
    if kind in "SUO":
        return False
    if dtype.is_integer:
        return kind in "biu"
    return kind in "biuf"


def _conversion_error(value, dtype) -> TypeError:
    """A Python/numpy value that cannot become a tensor of the requested dtype. TF raises a plain
    TypeError in Python (also eagerly: never an InvalidArgumentError, see `is_conversion_error`);
    eager conversion names the EagerTensor, graph construction the Python type."""
    if graph_mod.graph_is_active():
        err = TypeError(f"Expected {dtype.name}, but got {value!r} of type '{type(value).__name__}'.")
    else:
        err = TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {dtype.name}")
    err._fuseflow_conversion = True
    return err


def is_conversion_error(e: Exception) -> bool:
    return getattr(e, "_fuseflow_conversion", False)


def check_operand(x, y):
    """Checks that a Python/numpy operand of a binary op converts to the tensor operand's dtype."""
    if is_tensor(x) and not is_tensor(y):
        _hint_dtype(y, x.dtype, "")
    elif is_tensor(y) and not is_tensor(x):
        _hint_dtype(x, y.dtype, "")
