"""Data-dependent indexing: gather, gather_nd, one_hot, range, and the scatter-adds that are
their gradients (unsorted_segment_sum, scatter_nd).

Gathers are index maps that read their index operand, check it (TF's CPU kernels raise
InvalidArgument for out-of-range indices: here an `ErrorIf` via `ctx.check`) and load with a
clamped index so no access is ever out of bounds. Scatter-adds are opaque kernels: the
outermost parallel loop runs over (outer, inner) output columns, each of which a thread
zeroes and then accumulates into, so no two threads write the same element.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..ir import TensorType
from ..loopir import INDEX, Binary, Cast, Const, ErrorIf, If, Let, Load, Loop, Select, Store, Var, dim_expr
from ..shapes import format_shape, normalize_axis
from .index_util import IN_RANGE, clamp_to_dim, flat_index, idx, product, shape_str, static_eq
from .registry import OpDef, OpError, register


def _require_int(op, t, what="indices"):
    if not t.dtype.is_integer:
        raise OpError(f"{op}: {what} must be an integer tensor, got {shape_str(t)}")


# ------------------------------------------------------------------------------------ gather
def gather_layout(params, indices, attrs, op="gather"):
    """(axis, batch_dims, output shape) of a gather, with TF's checks."""
    _require_int(op, indices)
    if params.rank == 0:
        raise OpError(f"{op}: params must be at least 1-D, got {shape_str(params)}")
    axis = normalize_axis(int(attrs.get("axis", 0)), params.rank, op)
    bd = int(attrs.get("batch_dims", 0))
    if bd < 0:
        bd += indices.rank
    if not 0 <= bd <= indices.rank or bd > axis:
        raise OpError(f"{op}: batch_dims={attrs.get('batch_dims', 0)} must be in [0, rank(indices)] and <= axis "
                      f"({axis}) for params {shape_str(params)} and indices {shape_str(indices)}")
    for i in range(bd):
        if not static_eq(params.shape[i], indices.shape[i]):
            raise OpError(f"{op}: batch dimension {i} differs: params {shape_str(params)} vs indices "
                          f"{shape_str(indices)}")
    out = tuple(params.shape[:axis]) + tuple(indices.shape[bd:]) + tuple(params.shape[axis + 1:])
    return axis, bd, out


def _gather_infer(types, attrs):
    params, indices = types
    _, _, out = gather_layout(params, indices, attrs)
    return [TensorType(out, params.dtype)]


def _check_range(op, ind, limit, what="indices"):
    bad = (ind < 0) | (ind >= limit)
    if np.any(bad):
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{op}: {what}{list(pos)} = {ind[pos]} is not in [0, {limit})")


def _gather_ref(arrays, attrs):
    params, ind = arrays
    axis, bd, out = gather_layout(TensorType(params.shape, dt.from_numpy(params.dtype)),
                                  TensorType(ind.shape, dt.from_numpy(ind.dtype)), attrs)
    _check_range("gather", ind, params.shape[axis])
    if bd == 0:
        return [np.take(params, ind.astype(np.int64), axis=axis)]
    batch = int(np.prod(params.shape[:bd], dtype=np.int64))
    p = params.reshape((batch,) + params.shape[bd:])
    i = ind.reshape((batch,) + ind.shape[bd:]).astype(np.int64)
    res = [np.take(p[b], i[b], axis=axis - bd) for b in range(batch)]
    return [np.asarray(res, dtype=params.dtype).reshape(out)]


def _gather_index(ctx, out_index):
    params, indices = ctx.in_types
    axis, bd, _ = gather_layout(params, indices, ctx.attrs)
    ri = indices.rank - bd
    pre, ind, post = out_index[:axis], out_index[axis:axis + ri], out_index[axis + ri:]
    k = Cast(ctx.input(1, pre[:bd] + ind), INDEX)
    d = params.shape[axis]
    ctx.check(Binary("or", Binary("lt", k, Const(0, INDEX)), Binary("ge", k, idx(d))),
              f"gather index out of range [0, {d}) for params {format_shape(params.shape)} (axis {axis})")
    return ctx.input(0, pre + [clamp_to_dim(k, d)] + post)


def _gather_grad(em, inputs, outputs, attrs, grads):
    params, indices = inputs
    axis, bd, _ = gather_layout(em.type(params), em.type(indices), attrs)
    n = em.type(params).shape[axis]
    return [em.unsorted_segment_sum(grads[0], indices, num_segments=n, axis=axis, batch_dims=bd), None]


register(OpDef("gather", "injective", _gather_infer, _gather_ref, arity=2, index=_gather_index, grad=_gather_grad,
               doc="params[..., indices, ...] along `axis` (TF GatherV2). attrs: axis, batch_dims.", extra=IN_RANGE))


# ----------------------------------------------------------------------- unsorted_segment_sum
def segment_layout(data, ids, attrs, op="unsorted_segment_sum"):
    """(axis, batch_dims, index rank, output shape)."""
    _require_int(op, ids, "segment_ids")
    axis = int(attrs.get("axis", 0))
    bd = int(attrs.get("batch_dims", 0))
    ri = ids.rank - bd
    if not 0 <= bd <= min(axis, ids.rank) or axis + ri > data.rank:
        raise OpError(f"{op}: data {shape_str(data)} does not fit segment_ids {shape_str(ids)} at axis {axis} "
                      f"with batch_dims {bd}")
    for i in range(bd):
        if not static_eq(data.shape[i], ids.shape[i]):
            raise OpError(f"{op}: batch dimension {i} differs: data {shape_str(data)} vs segment_ids {shape_str(ids)}")
    for i in range(ri):
        if not static_eq(data.shape[axis + i], ids.shape[bd + i]):
            raise OpError(f"{op}: data {shape_str(data)} must have segment_ids' shape {format_shape(ids.shape[bd:])} "
                          f"at axis {axis}")
    n = attrs["num_segments"]
    if isinstance(n, int) and n < 0:
        raise OpError(f"{op}: num_segments must be non-negative, got {n}")
    out = tuple(data.shape[:axis]) + (n,) + tuple(data.shape[axis + ri:])
    return axis, bd, ri, out


def _segsum_infer(types, attrs):
    data, ids = types
    if not data.dtype.is_numeric:
        raise OpError(f"unsorted_segment_sum: data must be numeric, got {shape_str(data)}")
    *_, out = segment_layout(data, ids, attrs)
    return [TensorType(out, data.dtype)]


def _segsum_ref(arrays, attrs):
    data, ids = arrays
    axis, bd, ri, out = segment_layout(TensorType(data.shape, dt.from_numpy(data.dtype)),
                                       TensorType(ids.shape, dt.from_numpy(ids.dtype)), attrs)
    n = int(attrs["num_segments"])
    if np.any(ids >= n):
        pos = tuple(int(i) for i in np.argwhere(ids >= n)[0])
        raise ValueError(f"unsorted_segment_sum: segment_ids{list(pos)} = {ids[pos]} is out of range [0, {n})")
    pre = data.shape[:axis]
    P, B = int(np.prod(pre, dtype=np.int64)), int(np.prod(pre[:bd], dtype=np.int64))
    N = int(np.prod(ids.shape[bd:], dtype=np.int64))
    Q = int(np.prod(data.shape[axis + ri:], dtype=np.int64))
    d = data.reshape(P, N, Q)
    i = ids.reshape(B, N).astype(np.int64)
    res = np.zeros((P, n, Q), data.dtype)
    per_batch = P // B if B else 0
    for p in range(P):
        row = i[p // per_batch] if per_batch else i[0]
        keep = row >= 0
        np.add.at(res[p], row[keep], d[p][keep])
    return [res.reshape(out)]


def _segsum_kernel(kctx):
    data_t, ids_t = kctx.in_types
    data_buf, ids_buf = kctx.inputs
    out = kctx.outputs[0]
    axis, bd, ri, _ = segment_layout(data_t, ids_t, kctx.attrs)
    pre = data_t.shape[:axis]
    P, Q, N = product(pre), product(data_t.shape[axis + ri:]), product(ids_t.shape[bd:])
    PI = product(pre[bd:])
    S = idx(kctx.attrs["num_segments"])
    dtype = data_t.dtype
    q, s, n, k = Var(kctx.fresh("q")), Var(kctx.fresh("s")), Var(kctx.fresh("n")), Var(kctx.fresh("id"))
    p = q if _is_one(Q) else Binary("floordiv", q, Q)
    w = Const(0, INDEX) if _is_one(Q) else Binary("mod", q, Q)
    b = p if _is_one(PI) else Binary("floordiv", p, PI)
    at = lambda seg: (p * S + seg) * Q + w if not _is_one(Q) else p * S + seg
    code = kctx.error_code(f"unsorted_segment_sum: a segment id is out of range [0, num_segments)")
    accumulate = Store(out, at(k), Binary("add", Load(out, at(k), dtype),
                                         Load(data_buf, (p * N + n) * Q + w if not _is_one(Q) else p * N + n, dtype)))
    body = [Loop(s.name, S, [Store(out, at(s), Const(0, dtype))]),
            Loop(n.name, N, [Let(k.name, Cast(Load(ids_buf, b * N + n, ids_t.dtype), INDEX)),
                             ErrorIf(Binary("ge", k, S), code),
                             If(Binary("ge", k, Const(0, INDEX)), [accumulate])])]
    return [Loop(q.name, P * Q if not _is_one(Q) else P, body, "parallel")]


def _is_one(e) -> bool:
    return isinstance(e, Const) and e.value == 1


def _segsum_grad(em, inputs, outputs, attrs, grads):
    data, ids = inputs
    axis, bd, ri, _ = segment_layout(em.type(data), em.type(ids), attrs)
    zero_i = em.scalar_like(0, ids)
    gathered = em.gather(grads[0], em.maximum(ids, zero_i), axis=axis, batch_dims=bd)
    dshape = em.type(data).shape
    ishape = em.type(ids).shape
    mask_shape = tuple(ishape[:bd]) + (1,) * (axis - bd) + tuple(ishape[bd:]) + (1,) * (len(dshape) - axis - ri)
    mask = em.reshape(em.greater_equal(ids, zero_i), shape=mask_shape)
    return [em.select(mask, gathered, em.scalar_like(0, gathered)), None]


register(OpDef("unsorted_segment_sum", "opaque", _segsum_infer, _segsum_ref, arity=2,
               lower_kernel=_segsum_kernel, grad=_segsum_grad, cheap=False,
               doc="out[pre, s, post] = sum of data[pre, i, post] where segment_ids[i] == s (negative ids are "
                   "dropped). attrs: num_segments, axis=0, batch_dims=0 (segment_ids index data at `axis`)."))


# --------------------------------------------------------------------------------- gather_nd
def _gather_nd_layout(params, indices, op="gather_nd"):
    _require_int(op, indices)
    if indices.rank == 0:
        raise OpError(f"{op}: indices must be at least 1-D, got {shape_str(indices)}")
    k = indices.shape[-1]
    if not isinstance(k, int) or k > params.rank:
        raise OpError(f"{op}: the last dimension of indices {shape_str(indices)} must be static and at most the "
                      f"rank of params {shape_str(params)}")
    return k, tuple(indices.shape[:-1]) + tuple(params.shape[k:])


def _gather_nd_ref(arrays, attrs):
    params, ind = arrays
    k, out = _gather_nd_layout(TensorType(params.shape, dt.from_numpy(params.dtype)),
                               TensorType(ind.shape, dt.from_numpy(ind.dtype)))
    flat = ind.reshape(-1, k).astype(np.int64)
    for j in range(k):
        _check_range("gather_nd", flat[:, j], params.shape[j])
    res = params[tuple(flat[:, j] for j in range(k))] if k else np.broadcast_to(params, (flat.shape[0],) + params.shape)
    return [np.ascontiguousarray(res).reshape(out)]


def _gather_nd_index(ctx, out_index):
    params, indices = ctx.in_types
    k, _ = _gather_nd_layout(params, indices)
    outer = out_index[:indices.rank - 1]
    src = []
    for j in range(k):
        v = Cast(ctx.input(1, outer + [Const(j, INDEX)]), INDEX)
        d = params.shape[j]
        ctx.check(Binary("or", Binary("lt", v, Const(0, INDEX)), Binary("ge", v, idx(d))),
                  f"gather_nd index out of range for params {format_shape(params.shape)} (axis {j})")
        src.append(clamp_to_dim(v, d))
    return ctx.input(0, src + out_index[indices.rank - 1:])


register(OpDef("gather_nd", "injective",
               lambda types, attrs: [TensorType(_gather_nd_layout(*types)[1], types[0].dtype)],
               _gather_nd_ref, arity=2, index=_gather_nd_index,
               grad=lambda em, ins, outs, attrs, gs: [em.scatter_nd(ins[1], gs[0], shape=tuple(em.type(ins[0]).shape)),
                                                      None],
               doc="params[indices[..., 0], ..., indices[..., K-1], ...] (batch_dims=0).", extra=IN_RANGE))


def _scatter_nd_layout(indices, updates, shape, op="scatter_nd"):
    _require_int(op, indices)
    k = indices.shape[-1] if indices.rank else None
    if not isinstance(k, int) or k > len(shape):
        raise OpError(f"{op}: the last dimension of indices {shape_str(indices)} must be static and at most "
                      f"len(shape) = {len(shape)}")
    want = tuple(indices.shape[:-1]) + tuple(shape[k:])
    if len(want) != updates.rank or not all(static_eq(a, b) for a, b in zip(want, updates.shape)):
        raise OpError(f"{op}: updates {shape_str(updates)} must have shape {format_shape(want)} for indices "
                      f"{shape_str(indices)} and shape {format_shape(shape)}")
    return k


def _scatter_nd_infer(types, attrs):
    indices, updates = types
    shape = tuple(attrs["shape"])
    _scatter_nd_layout(indices, updates, shape)
    return [TensorType(shape, updates.dtype)]


def _scatter_nd_ref(arrays, attrs):
    ind, upd = arrays
    shape = tuple(int(d) for d in attrs["shape"])
    k = ind.shape[-1]
    flat = ind.reshape(-1, k).astype(np.int64)
    for j in range(k):
        _check_range("scatter_nd", flat[:, j], shape[j])
    res = np.zeros(shape, upd.dtype)
    np.add.at(res, tuple(flat[:, j] for j in range(k)), upd.reshape((flat.shape[0],) + shape[k:]))
    return [res]


def _scatter_nd_kernel(kctx):
    ind_t, upd_t = kctx.in_types
    ind_buf, upd_buf = kctx.inputs
    out = kctx.outputs[0]
    shape = tuple(kctx.attrs["shape"])
    k = _scatter_nd_layout(ind_t, upd_t, shape)
    Q, N, S = product(shape[k:]), product(ind_t.shape[:-1]), product(shape[:k])
    dtype = upd_t.dtype
    w, s, n = Var(kctx.fresh("w")), Var(kctx.fresh("s")), Var(kctx.fresh("n"))
    code = kctx.error_code("scatter_nd: an index is out of range")
    body = [Loop(s.name, S, [Store(out, s * Q + w, Const(0, dtype))])]
    inner, comps = [], []
    for j in range(k):
        v = Var(kctx.fresh("ix"))
        inner.append(Let(v.name, Cast(Load(ind_buf, n * Const(k, INDEX) + Const(j, INDEX), ind_t.dtype), INDEX)))
        inner.append(ErrorIf(Binary("or", Binary("lt", v, Const(0, INDEX)), Binary("ge", v, idx(shape[j]))), code))
        comps.append(v)
    pos = flat_index(comps, shape[:k]) * Q + w
    inner.append(Store(out, pos, Binary("add", Load(out, pos, dtype), Load(upd_buf, n * Q + w, dtype))))
    body.append(Loop(n.name, N, inner))
    return [Loop(w.name, Q, body, "parallel")]


register(OpDef("scatter_nd", "opaque", _scatter_nd_infer, _scatter_nd_ref, arity=2, lower_kernel=_scatter_nd_kernel,
               grad=lambda em, ins, outs, attrs, gs: [None, em.gather_nd(gs[0], ins[0])], cheap=False,
               doc="Zeros of `shape` with updates added at indices (duplicates accumulate). attrs: shape."))


# ----------------------------------------------------------------------------------- one_hot
def _one_hot_layout(t, attrs):
    _require_int("one_hot", t)
    depth = attrs["depth"]
    if isinstance(depth, int) and depth < 0:
        raise OpError(f"one_hot: depth must be non-negative, got {depth}")
    axis = int(attrs.get("axis", -1))
    if not -1 <= axis <= t.rank:
        raise OpError(f"one_hot: axis {axis} is out of range for indices {shape_str(t)} (allowed [-1, {t.rank}])")
    axis = t.rank if axis == -1 else axis
    return axis, tuple(t.shape[:axis]) + (depth,) + tuple(t.shape[axis:])


def _one_hot_dtype(attrs):
    return dt.as_dtype(attrs.get("dtype", dt.float32))


def _one_hot_ref(arrays, attrs):
    ind = arrays[0].astype(np.int64)
    axis, _ = _one_hot_layout(TensorType(ind.shape, dt.int64), attrs)
    if attrs.get("check_range", False) and np.any((ind < 0) | (ind >= int(attrs["depth"]))):
        bad = ind[(ind < 0) | (ind >= int(attrs["depth"]))].flat[0]
        raise ValueError(f"received a label value of {bad} which is outside the valid range of "
                         f"[0, {attrs['depth']})")
    d = _one_hot_dtype(attrs)
    hit = np.expand_dims(ind, axis) == np.arange(int(attrs["depth"])).reshape(
        (-1,) + (1,) * (ind.ndim - axis))
    on = np.asarray(attrs.get("on_value", 1)).astype(d.np)
    off = np.asarray(attrs.get("off_value", 0)).astype(d.np)
    return [np.where(hit, on, off).astype(d.np)]


def _one_hot_index(ctx, out_index):
    axis, _ = _one_hot_layout(ctx.in_types[0], ctx.attrs)
    d = ctx.out_type.dtype
    k = out_index[axis]
    ind = Cast(ctx.input(0, out_index[:axis] + out_index[axis + 1:]), INDEX)
    if ctx.attrs.get("check_range", False):
        depth = dim_expr(ctx.attrs["depth"])
        ctx.check(Binary("or", Binary("lt", ind, Const(0, INDEX)), Binary("ge", ind, depth)),
                  f"an index is outside the valid range [0, {ctx.attrs['depth']})")
    on, off = ctx.attrs.get("on_value", 1), ctx.attrs.get("off_value", 0)
    return Select(Binary("eq", ind, k), Const(_scalar(on, d), d), Const(_scalar(off, d), d))


def _scalar(v, d):
    return np.asarray(v).astype(d.np).item()


register(OpDef("one_hot", "injective",
               lambda types, attrs: [TensorType(_one_hot_layout(types[0], attrs)[1], _one_hot_dtype(attrs))],
               _one_hot_ref, arity=1, index=_one_hot_index, differentiable=False,
               doc="on_value where the index equals the position along `axis`, else off_value (indices "
                   "outside [0, depth) give all off_value, or an error with check_range=True). attrs: depth, "
                   "on_value, off_value, axis=-1, dtype, check_range=False.",
               extra=IN_RANGE))


# ------------------------------------------------------------------------------------- range
def range_length(start, limit, delta) -> int:
    if delta == 0:
        raise OpError("range: delta must not be 0")
    if delta > 0 and start > limit:
        raise OpError(f"range: requires start <= limit when delta > 0: {start}/{limit}")
    if delta < 0 and start < limit:
        raise OpError(f"range: requires start >= limit when delta < 0: {start}/{limit}")
    if all(isinstance(v, (int, np.integer)) for v in (start, limit, delta)):
        return (abs(limit - start) + abs(delta) - 1) // abs(delta)
    return int(math.ceil(abs((limit - start) / delta)))


def _range_dtype(attrs):
    if attrs.get("dtype") is not None:
        return dt.as_dtype(attrs["dtype"])
    ints = all(isinstance(attrs[k], int) for k in ("start", "limit", "delta"))
    return dt.int32 if ints else dt.float32


def _range_infer(types, attrs):
    d = _range_dtype(attrs)
    if not d.is_numeric:
        raise OpError(f"range: dtype must be numeric, got {d.name}")
    return [TensorType((range_length(attrs["start"], attrs["limit"], attrs["delta"]),), d)]


def _range_ref(arrays, attrs):
    d = _range_dtype(attrs).np
    n = range_length(attrs["start"], attrs["limit"], attrs["delta"])
    return [(np.arange(n).astype(d) * np.asarray(attrs["delta"]).astype(d) + np.asarray(attrs["start"]).astype(d))
            .astype(d)]


def _range_index(ctx, out_index):
    d = ctx.out_type.dtype
    i = Cast(out_index[0], d)
    return Binary("add", Binary("mul", i, Const(_scalar(ctx.attrs["delta"], d), d)),
                  Const(_scalar(ctx.attrs["start"], d), d))


register(OpDef("range", "injective", _range_infer, _range_ref, arity=0, index=_range_index, differentiable=False,
               doc="start, start+delta, ... up to (excluding) limit: element i is start + i*delta. attrs: start, "
                   "limit, delta, dtype.", extra=IN_RANGE))
