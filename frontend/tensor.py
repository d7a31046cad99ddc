"""User-facing tensors: `Tensor` (symbolic, an output of an `Operation` in a frontend graph),
`EagerTensor` (a concrete value), and `TensorShape` (TF's partially-known shape).

Operators (`+ - * / // % ** @`, comparisons, `[...]`) dispatch to the op functions in
`fuseflow.math_ops` / `fuseflow.array_ops`, imported lazily to keep this module at the bottom.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.shapes import SymDim


class TensorShape:
    """A shape whose rank or dims may be unknown (None), with TF's methods."""

    def __init__(self, dims):
        if dims is None:
            self._dims = None
        elif isinstance(dims, TensorShape):
            self._dims = dims._dims
        else:
            if isinstance(dims, (int, np.integer)) or dims is None:
                dims = [dims]
            self._dims = tuple(None if (d is None or isinstance(d, SymDim) or (isinstance(d, (int, np.integer)) and d < 0))
                               else int(d.value if isinstance(d, Dimension) else d) for d in dims)

    @property
    def rank(self) -> Optional[int]:
        return None if self._dims is None else len(self._dims)

    ndims = rank

    @property
    def dims(self):
        return None if self._dims is None else [Dimension(d) for d in self._dims]

    def as_list(self):
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def is_fully_defined(self) -> bool:
        return self._dims is not None and all(d is not None for d in self._dims)

    def num_elements(self):
        if not self.is_fully_defined():
            return None
        return int(np.prod(self._dims, dtype=np.int64))

    def is_compatible_with(self, other) -> bool:
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return True
        return len(self._dims) == len(other._dims) and all(
            a is None or b is None or a == b for a, b in zip(self._dims, other._dims))

    def merge_with(self, other) -> "TensorShape":
        other = TensorShape(other)
        if self._dims is None:
            return other
        if other._dims is None:
            return self
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        return TensorShape([a if a is not None else b for a, b in zip(self._dims, other._dims)])

    def concatenate(self, other) -> "TensorShape":
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(list(self._dims) + list(other._dims))

    def __add__(self, other):
        return self.concatenate(other)

    def __radd__(self, other):
        return TensorShape(other).concatenate(self)

    def assert_is_compatible_with(self, other):
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {TensorShape(other)} are incompatible")

    def assert_has_rank(self, rank):
        if self._dims is not None and len(self._dims) != rank:
            raise ValueError(f"Shape {self} must have rank {rank}")

    def with_rank(self, rank) -> "TensorShape":
        if self._dims is None:
            return TensorShape([None] * rank)
        self.assert_has_rank(rank)
        return self

    def assert_is_fully_defined(self):
        if not self.is_fully_defined():
            raise ValueError(f"Shape {self} is not fully defined")

    def __len__(self):
        if self._dims is None:
            raise ValueError("Cannot take the length of a shape with unknown rank.")
        return len(self._dims)

    def __iter__(self):
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(self._dims)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        return self._dims[key]

    def __eq__(self, other):
        try:
            return self._dims == TensorShape(other)._dims
        except (TypeError, ValueError):
            return NotImplemented

    def __hash__(self):
        return hash(self._dims)

    def __repr__(self):
        return "TensorShape(None)" if self._dims is None else f"TensorShape({list(self._dims)})"

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        inner = ", ".join("None" if d is None else str(d) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"


class Dimension:
    """TF1's Dimension (what `shape[i]` gives in v1 code that calls `.value`)."""

    def __init__(self, value):
        self.value = value

    def __int__(self):
        return self.value

    __index__ = __int__

    def __eq__(self, other):
        return self.value == (other.value if isinstance(other, Dimension) else other)

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return f"Dimension({self.value})"


def _ops():
    from fuseflow import array_ops, math_ops
    return math_ops, array_ops


class _TensorOperators:
    """Operator overloads shared by symbolic and eager tensors (TF semantics).

    Explicit names give TF's operator op names (`a + b` is 'add', `tf.add(a, b)` is 'Add')."""

    __array_priority__ = 100

    def __add__(self, o): return _ops()[0].add(self, o, name="add")
    def __radd__(self, o): return _ops()[0].add(o, self, name="add")
    def __sub__(self, o): return _ops()[0].subtract(self, o, name="sub")
    def __rsub__(self, o): return _ops()[0].subtract(o, self, name="sub")
    def __mul__(self, o): return _ops()[0].multiply(self, o, name="mul")
    def __rmul__(self, o): return _ops()[0].multiply(o, self, name="mul")
    def __truediv__(self, o): return _ops()[0].truediv(self, o)
    def __rtruediv__(self, o): return _ops()[0].truediv(o, self)
    def __floordiv__(self, o): return _ops()[0].floordiv(self, o)
    def __rfloordiv__(self, o): return _ops()[0].floordiv(o, self)
    def __mod__(self, o): return _ops()[0].floormod(self, o, name="mod")
    def __rmod__(self, o): return _ops()[0].floormod(o, self, name="mod")
    def __pow__(self, o): return _ops()[0].pow(self, o)
    def __rpow__(self, o): return _ops()[0].pow(o, self)
    def __matmul__(self, o): return _ops()[0].matmul(self, o, name="matmul")
    def __rmatmul__(self, o): return _ops()[0].matmul(o, self, name="matmul")
    def __neg__(self): return _ops()[0].negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops()[0].abs(self)
    def __invert__(self): return _ops()[0].logical_not(self)
    def __and__(self, o): return _ops()[0].logical_and(self, o)
    def __rand__(self, o): return _ops()[0].logical_and(o, self)
    def __or__(self, o): return _ops()[0].logical_or(self, o)
    def __ror__(self, o): return _ops()[0].logical_or(o, self)
    def __xor__(self, o): return _ops()[0].logical_xor(self, o)
    def __lt__(self, o): return _ops()[0].less(self, o)
    def __le__(self, o): return _ops()[0].less_equal(self, o)
    def __gt__(self, o): return _ops()[0].greater(self, o)
    def __ge__(self, o): return _ops()[0].greater_equal(self, o)
    def __getitem__(self, key): return _ops()[1].tensor_getitem(self, key)


class SymbolicValueError(TypeError):
    """Python control flow on a graph tensor's value (`if t:`, `for x in t` over an unknown
    length): what AutoGraph would convert; fuseflow.function runs such calls op by op instead."""


class Tensor(_TensorOperators):
    """A symbolic tensor: output `value_index` of `op` in a frontend graph."""

    def __init__(self, op, value_index: int, dtype: dt.DType, shape: TensorShape):
        self.op = op
        self.value_index = value_index
        self.dtype = dtype
        self._shape = shape

    @property
    def graph(self):
        return self.op.graph

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape):
        self._shape = self._shape.merge_with(shape)

    @property
    def ndim(self):
        return self._shape.rank

    @property
    def device(self) -> str:
        return self.op.device

    def eval(self, feed_dict=None, session=None):
        from fuseflow.session import get_default_session
        sess = session or get_default_session()
        if sess is None:
            raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. "
                             "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
        return sess.run(self, feed_dict=feed_dict)

    def consumers(self):
        return [op for op in self.op.graph.get_operations() if self in op.inputs]

    __hash__ = object.__hash__   # identity hash in C: tensors key many dicts (feeds, replay values)

    def __eq__(self, other):
        return self is other

    def __bool__(self):
        raise SymbolicValueError("Using a symbolic `fuseflow.Tensor` as a Python `bool` is not allowed: the value is "
                        "only known when the graph runs. Use tf.cond/tf.where, or run the tensor.")

    def __iter__(self):
        rank = self._shape.rank
        if rank is None or rank == 0 or self._shape[0] is None:
            raise SymbolicValueError(f"Cannot iterate over a tensor with shape {self._shape}: the first dimension "
                                     f"must be known")
        return iter(_ops()[1].unstack(self, axis=0))

    def __len__(self):
        if self._shape.rank is None or not self._shape.rank or self._shape[0] is None:
            raise TypeError(f"len is not well defined for a tensor of shape {self._shape}")
        return self._shape[0]

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self.dtype.name}>"

    __str__ = lambda self: f'Tensor("{self.name}", shape={self._shape}, dtype={self.dtype.name})'


class EagerTensor(_TensorOperators):
    """A concrete tensor (eager mode): wraps a numpy array; interoperates with numpy."""

    def __init__(self, value: np.ndarray, dtype: Optional[dt.DType] = None):
        self._value = value
        self.dtype = dtype or dt.from_numpy(value.dtype)

    def numpy(self):
        v = self._value
        return v.copy() if isinstance(v, np.ndarray) and v.ndim else (v[()] if isinstance(v, np.ndarray) else v)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._value, dtype=dtype)

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self._value.shape)

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def name(self):
        raise AttributeError("Tensor.name is undefined when eager execution is enabled.")

    @property
    def device(self):
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def __len__(self):
        if not self._value.ndim:
            raise TypeError("Scalar tensor has no `len()`")
        return self._value.shape[0]

    def __iter__(self):
        if not self._value.ndim:
            raise TypeError("Cannot iterate over a scalar tensor.")
        return (EagerTensor(np.asarray(v), self.dtype) for v in self._value)

    def __bool__(self):
        return bool(self._value)

    def __int__(self):
        return int(self._value)

    def __float__(self):
        return float(self._value)

    def __index__(self):
        return int(self._value)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return _ops()[0].equal(self, other)

    def __ne__(self, other):
        return _ops()[0].not_equal(self, other)

    def __format__(self, spec):
        return format(self.numpy(), spec) if not self._value.ndim else str(self)

    def __repr__(self):
        v = self._value
        return f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={_np_repr(v)}>"

    def __str__(self):
        return f"tf.Tensor({_np_str(self._value)}, shape={self.shape}, dtype={self.dtype.name})"


def _np_repr(v):
    if v.dtype == object:
        return repr(v.tolist()) if v.ndim == 0 else repr(v)
    return repr(v[()]) if v.ndim == 0 else np.array_repr(v)


def _np_str(v):
    if v.ndim == 0 and v.dtype == object:
        return repr(v[()])
    return str(v)


def is_tensor(x) -> bool:
    return isinstance(x, (Tensor, EagerTensor)) or hasattr(x, "_as_tensor")
