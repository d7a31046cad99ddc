"""Helpers shared by op definitions: type-rule building blocks and gradient utilities."""
from __future__ import annotations

from .. import dtypes as dt
from ..ir import TensorType
from ..shapes import broadcast_shapes, format_shape
from .registry import OpError


def same_dtype(op: str, types) -> dt.DType:
    """TF requires the operands of arithmetic ops to share a dtype (no implicit promotion)."""
    first = types[0].dtype
    for t in types[1:]:
        if t.dtype != first:
            raise OpError(f"{op}: operands must have the same dtype, got "
                          f"{', '.join(t.dtype.name for t in types)} (shapes "
                          f"{', '.join(format_shape(t.shape) for t in types)})")
    return first


def require(op: str, t: TensorType, pred, what: str) -> None:
    if not pred(t.dtype):
        raise OpError(f"{op}: expects {what} input, got {t.dtype.name}{format_shape(t.shape)}")


def broadcast_types(op: str, types, dtype: dt.DType) -> TensorType:
    return TensorType(broadcast_shapes(*[t.shape for t in types], op=op), dtype)


def unbroadcast(em, grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, then reshape to `shape`."""
    gshape = em.type(grad).shape
    if tuple(gshape) == tuple(shape):
        return grad
    lead = len(gshape) - len(shape)
    axes = list(range(lead))
    for i, d in enumerate(shape):
        if d == 1 and gshape[lead + i] != 1:
            axes.append(lead + i)
    if axes:
        grad = em.reduce_sum(grad, axes=tuple(axes), keepdims=False)
    if tuple(em.type(grad).shape) != tuple(shape):
        grad = em.reshape(grad, shape=tuple(shape))
    return grad


def zeros_like(em, v):
    t = em.type(v)
    return em.broadcast_to(em.constant(0, t.dtype), shape=tuple(t.shape))
