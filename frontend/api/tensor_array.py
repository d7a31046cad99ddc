"""tf.TensorArray for indices known while the program is built (eager code, or a
fuseflow.function loop over a Python range): a list of tensors, stacked on demand. Indices that
are only known at run time (a tf.while_loop counter) need a dynamic array fuseflow lacks: they
raise NeedsEagerExecution (a NotImplementedError naming TensorArray), so a fuseflow.function
using them runs eagerly."""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt

from .. import array_ops
from ..core import convert_to_tensor
from ..errors import InvalidArgumentError
from ..needs_eager import NeedsEagerExecution
from ..tensor import TensorShape


def _index(i, what):
    v = array_ops.get_static_value(convert_to_tensor(i)) if not isinstance(i, (int, np.integer)) else i
    if v is None:
        raise NeedsEagerExecution(f"TensorArray.{what}",
                                  f"TensorArray.{what}: the index must be known while building the program in "
                                  f"fuseflow (a Python int or a constant); run-time indices are not supported")
    return int(np.asarray(v))


class TensorArray:
    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):
        self._dtype = dt.as_dtype(dtype)
        n = 0 if size is None else _index(size, "__init__")
        self._dynamic = bool(dynamic_size)
        self._items: list = [None] * n
        self._element_shape = TensorShape(element_shape) if element_shape is not None else TensorShape(None)
        self._infer_shape = infer_shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def element_shape(self):
        return self._element_shape

    @property
    def dynamic_size(self):
        return self._dynamic

    def size(self, name=None):
        return convert_to_tensor(np.int32(len(self._items)))

    def _check_shape(self, value):
        if self._infer_shape and self._element_shape.rank is not None and \
                not self._element_shape.is_compatible_with(value.shape):
            raise ValueError(f"Inconsistent shapes: saw {value.shape} but expected {self._element_shape}")
        self._element_shape = self._element_shape.merge_with(value.shape) if self._infer_shape else \
            self._element_shape

    def write(self, index, value, name=None):
        i = _index(index, "write")
        value = convert_to_tensor(value, dtype=self._dtype)
        if i < 0:
            raise InvalidArgumentError(None, None, f"Tried to write to index {i} but the index is negative")
        if i >= len(self._items):
            if not self._dynamic:
                raise InvalidArgumentError(None, None, f"Tried to write to index {i} but array is not resizeable "
                                                       f"and size is: {len(self._items)}")
            self._items.extend([None] * (i + 1 - len(self._items)))
        if self._items[i] is not None:
            raise InvalidArgumentError(None, None, f"Could not write to TensorArray index {i} because it has "
                                                   f"already been written to.")
        self._check_shape(value)
        self._items[i] = value
        return self

    def _zeros(self):
        if not self._element_shape.is_fully_defined():
            raise InvalidArgumentError(None, None, "TensorArray has an element that was never written and no "
                                                   "fully defined element_shape to fill it with")
        return array_ops.zeros(self._element_shape.as_list(), dtype=self._dtype)

    def read(self, index, name=None):
        i = _index(index, "read")
        if i < 0 or i >= len(self._items):
            raise InvalidArgumentError(None, None, f"Tried to read from index {i} but array size is: "
                                                   f"{len(self._items)}")
        item = self._items[i]
        return self._zeros() if item is None else item

    def stack(self, name=None):
        if not self._items:
            if self._element_shape.is_fully_defined():
                return array_ops.zeros([0] + self._element_shape.as_list(), dtype=self._dtype)
            raise InvalidArgumentError(None, None, "TensorArray has size zero, but element shape is not fully "
                                                   "defined; cannot stack it")
        return array_ops.stack([self.read(i) for i in range(len(self._items))])

    def gather(self, indices, name=None):
        idx = array_ops.get_static_value(convert_to_tensor(indices))
        if idx is None:
            raise NeedsEagerExecution("TensorArray.gather",
                                      "TensorArray.gather: indices must be known while building the program")
        return array_ops.stack([self.read(int(i)) for i in np.asarray(idx).ravel()])

    def concat(self, name=None):
        return array_ops.concat([self.read(i) for i in range(len(self._items))], axis=0)

    def unstack(self, value, name=None):
        value = convert_to_tensor(value, dtype=self._dtype)
        parts = array_ops.unstack(value)
        if not self._dynamic and self._items and len(parts) > len(self._items):
            raise InvalidArgumentError(None, None, f"Could not scatter {len(parts)} elements into a TensorArray "
                                                   f"of size {len(self._items)}")
        self._items = [None] * max(len(self._items), len(parts))
        for i, p in enumerate(parts):
            self.write(i, p)
        return self

    def scatter(self, indices, value, name=None):
        idx = array_ops.get_static_value(convert_to_tensor(indices))
        if idx is None:
            raise NeedsEagerExecution("TensorArray.scatter",
                                      "TensorArray.scatter: indices must be known while building the program")
        for i, part in zip(np.asarray(idx).ravel(), array_ops.unstack(convert_to_tensor(value, dtype=self._dtype))):
            self.write(int(i), part)
        return self

    def split(self, value, lengths, name=None):
        lens = array_ops.get_static_value(convert_to_tensor(lengths))
        parts = array_ops.split(convert_to_tensor(value, dtype=self._dtype), [int(n) for n in np.asarray(lens)])
        for i, p in enumerate(parts):
            self.write(i, p)
        return self

    def close(self, name=None):
        self._items = []

    def identity(self):
        return self

    def __repr__(self):
        return f"<TensorArray dtype={self._dtype.name} size={len(self._items)}>"
