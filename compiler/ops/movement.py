"""Movement ops as index maps (never materialized when fused): broadcast_to, reshape, transpose.

Injective lowering contract: `index(ctx, out_index)` returns the output value at the
multi-index `out_index` (list of int64 Exprs), reading operands with `ctx.input(slot, idx)`
or `ctx.input_linear(slot, flat)` (row-major flat index into the operand).
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType
from ..loopir import Const, INDEX, dim_expr
from ..shapes import (broadcast_shapes, dim_floordiv, format_shape, num_elements)
from .common import unbroadcast
from .index_util import IN_RANGE
from .registry import OpDef, OpError, register


def linear_index(index, shape):
    """Row-major flat index of a multi-index."""
    flat = Const(0, INDEX)
    for i, d in zip(index, shape):
        flat = flat * dim_expr(d) + i if not (isinstance(flat, Const) and flat.value == 0) else i
    return flat


# --------------------------------------------------------------------------- broadcast_to
def _bcast_infer(types, attrs):
    (t,) = types
    shape = tuple(attrs["shape"])
    out = broadcast_shapes(t.shape, shape, op="broadcast_to")
    if tuple(out) != shape:
        raise OpError(f"broadcast_to: cannot broadcast {format_shape(t.shape)} to {format_shape(shape)}")
    return [TensorType(shape, t.dtype)]


def _bcast_index(ctx, idx):
    src = ctx.in_types[0].shape
    lead = len(idx) - len(src)
    return ctx.input(0, [Const(0, INDEX) if d == 1 else idx[lead + i] for i, d in enumerate(src)])


register(OpDef("broadcast_to", "injective", _bcast_infer,
               lambda arrays, attrs: [np.broadcast_to(arrays[0], attrs["shape"]).copy()], arity=1,
               index=_bcast_index, extra=IN_RANGE,
               grad=lambda em, ins, outs, attrs, gs: [unbroadcast(em, gs[0], em.type(ins[0]).shape)]))


# --------------------------------------------------------------------------------- reshape
def resolve_reshape(src_shape, shape, op="reshape"):
    """Replace a single -1 in `shape`; check the element counts agree (symbolically if needed)."""
    shape = list(shape)
    if shape.count(-1) > 1:
        raise OpError(f"{op}: at most one dimension may be -1, got {shape}")
    total = num_elements(src_shape)
    if -1 in shape:
        known = num_elements([d for d in shape if d != -1])
        if isinstance(total, int) and isinstance(known, int):
            if known == 0 or total % known:
                raise OpError(f"{op}: cannot reshape {format_shape(src_shape)} ({total} elements) into "
                              f"{format_shape(shape)}")
        shape[shape.index(-1)] = dim_floordiv(total, known)
    out = tuple(shape)
    n = num_elements(out)
    if isinstance(total, int) and isinstance(n, int) and n != total:
        raise OpError(f"{op}: cannot reshape {format_shape(src_shape)} ({total} elements) into "
                      f"{format_shape(out)} ({n} elements)")
    return out


def _reshape_infer(types, attrs):
    (t,) = types
    return [TensorType(resolve_reshape(t.shape, attrs["shape"]), t.dtype)]


def _reshape_index(ctx, idx):
    return ctx.input_linear(0, linear_index(idx, ctx.out_type.shape))


register(OpDef("reshape", "injective", _reshape_infer,
               lambda arrays, attrs: [arrays[0].reshape([d for d in attrs["shape"]])], arity=1,
               index=_reshape_index, extra=IN_RANGE,
               grad=lambda em, ins, outs, attrs, gs: [em.reshape(gs[0], shape=tuple(em.type(ins[0]).shape))]))


# ------------------------------------------------------------------------------- transpose
def _transpose_infer(types, attrs):
    (t,) = types
    perm = tuple(attrs["perm"])
    if sorted(perm) != list(range(t.rank)):
        raise OpError(f"transpose: perm {list(perm)} is not a permutation of the {t.rank} axes of "
                      f"{format_shape(t.shape)}")
    return [TensorType(tuple(t.shape[p] for p in perm), t.dtype)]


def _transpose_index(ctx, idx):
    perm = ctx.attrs["perm"]
    src = [None] * len(perm)
    for out_axis, in_axis in enumerate(perm):
        src[in_axis] = idx[out_axis]
    return ctx.input(0, src)


register(OpDef("transpose", "injective", _transpose_infer,
               lambda arrays, attrs: [np.transpose(arrays[0], attrs["perm"]).copy()], arity=1,
               index=_transpose_index, extra=IN_RANGE,
               grad=lambda em, ins, outs, attrs, gs: [em.transpose(gs[0], perm=tuple(int(i) for i in np.argsort(attrs["perm"])))]))
