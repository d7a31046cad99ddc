"""Feed values: what `Session.run` accepts for a fed tensor and how it becomes an array.

A feed is converted to the tensor's dtype (numpy's conversion rules, strings encoded to bytes)
and must match the tensor's static shape where that shape is known.
"""
from __future__ import annotations

import numpy as np

from .core import _encode_strings
from .graph import Operation
from .tensor import EagerTensor, Tensor
from .variables import Variable


def _shape_str(shape) -> str:
    if shape.rank is None:
        return "<unknown>"
    dims = ["?" if d is None else str(d) for d in shape.as_list()]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def _compatible(static, shape) -> bool:
    if static is None:
        return True
    if len(static) != len(shape):
        return False
    for s, n in zip(static, shape):
        if s is not None and s != n:
            return False
    return True


def feed_array(t: Tensor, value) -> np.ndarray:
    npdtype = t.dtype.np
    if isinstance(value, np.ndarray) and value.dtype == npdtype and value.flags.c_contiguous:
        arr = value                                   # the common case: no conversion, no copy
    else:
        if isinstance(value, (Tensor, Operation)) or (isinstance(value, Variable)):
            raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
                            "Python scalars, strings, lists, numpy ndarrays, or TensorHandles. For reference, the "
                            f"tensor object was {value!r} which was passed to the feed with key {t!r}.")
        if isinstance(value, EagerTensor):
            value = value._value
        if t.dtype.is_string:
            arr = np.asarray(_encode_strings(value), dtype=object)
        else:
            try:
                arr = np.asarray(value, dtype=npdtype)
            except (TypeError, ValueError) as e:
                raise ValueError(f"Cannot feed value {value!r} to Tensor '{t.name}' of dtype {t.dtype.name}: "
                                 f"{e}") from None
            if not arr.flags.c_contiguous:
                arr = np.array(arr, order="C")   # (np.ascontiguousarray would make 0-d arrays 1-d)
    if not _compatible(t.shape._dims, arr.shape):
        raise ValueError(f"Cannot feed value of shape {arr.shape} for Tensor '{t.name}', which has shape "
                         f"'{_shape_str(t.shape)}'")
    return arr
