"""matmul: 2-D and batched (batch dims broadcast), with transpose_a / transpose_b.

Lowered by the blocked matmul template (codegen/matmul.py); elementwise consumers fuse into
its epilogue. attrs: transpose_a, transpose_b.
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType
from ..shapes import broadcast_shapes, format_shape
from .common import same_dtype, unbroadcast
from .registry import OpDef, OpError, register


def matmul_dims(ta, tb, attrs):
    """(batch shape, m, k, n) of a matmul, checking ranks and the contraction size."""
    if ta.rank < 2 or tb.rank < 2:
        raise OpError(f"matmul: both operands need rank >= 2, got {format_shape(ta.shape)} and "
                      f"{format_shape(tb.shape)}")
    m, k = ta.shape[-2:][::-1] if attrs["transpose_a"] else ta.shape[-2:]
    k2, n = tb.shape[-2:][::-1] if attrs["transpose_b"] else tb.shape[-2:]
    if isinstance(k, int) and isinstance(k2, int) and k != k2:
        raise OpError(f"matmul: inner dimensions differ: {format_shape(ta.shape)}"
                      f"{' (transposed)' if attrs['transpose_a'] else ''} @ {format_shape(tb.shape)}"
                      f"{' (transposed)' if attrs['transpose_b'] else ''}: {k} vs {k2}")
    batch = broadcast_shapes(ta.shape[:-2], tb.shape[:-2], op="matmul")
    return batch, m, k, n


def _infer(types, attrs):
    ta, tb = types
    d = same_dtype("matmul", types)
    if not d.is_numeric:
        raise OpError(f"matmul: expects numeric operands, got {d.name}")
    batch, m, k, n = matmul_dims(ta, tb, attrs)
    return [TensorType(tuple(batch) + (m, n), d)]


def _ref(arrays, attrs):
    a, b = arrays
    if attrs["transpose_a"]:
        a = np.swapaxes(a, -1, -2)
    if attrs["transpose_b"]:
        b = np.swapaxes(b, -1, -2)
    return [np.matmul(a, b).astype(arrays[0].dtype, copy=False)]


def _grad(em, inputs, outputs, attrs, grads):
    a, b = inputs
    g = grads[0]
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    mm = lambda x, y, tx, ty: em.matmul(x, y, transpose_a=tx, transpose_b=ty)
    if not ta and not tb:
        ga, gb = mm(g, b, False, True), mm(a, g, True, False)
    elif not ta and tb:
        ga, gb = mm(g, b, False, False), mm(g, a, True, False)
    elif ta and not tb:
        ga, gb = mm(b, g, False, True), mm(a, g, False, False)
    else:
        ga, gb = mm(b, g, True, True), mm(g, a, True, True)
    return [unbroadcast(em, ga, em.type(a).shape), unbroadcast(em, gb, em.type(b).shape)]


register(OpDef("matmul", "matmul", _infer, _ref, arity=2, grad=_grad, cheap=False))
