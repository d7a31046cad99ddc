"""Reductions over any set of axes, with keepdims. attrs: axes (sorted, non-negative), keepdims.

Lowering: a `ReduceSpec` (identity, combine, finalize). argmax/argmin carry `arg=True`: the
lowering tracks (best value, first index) pairs, as numpy and TF do for ties.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..ir import TensorType
from ..loopir import Binary, Cast
from ..shapes import format_shape, num_elements
from .common import require
from .registry import OpDef, OpError, ReduceSpec, register


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _check_axes(name, t, axes):
    for a in axes:
        if not 0 <= a < max(t.rank, 1) or (t.rank == 0 and a != 0):
            raise OpError(f"{name}: axis {a} out of range for {t.dtype.name}{format_shape(t.shape)}")


def _keep(em, g, in_shape, axes):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    return em.reshape(g, shape=reduced_shape(in_shape, axes, True))


def reduction(name, np_fn, spec, allowed, grad=None, out_dtype=None):
    check, what = allowed

    def infer(types, attrs):
        (t,) = types
        require(name, t, check, what)
        axes = tuple(attrs["axes"])
        _check_axes(name, t, axes)
        return [TensorType(reduced_shape(t.shape, axes, attrs["keepdims"]), out_dtype or t.dtype)]

    def ref(arrays, attrs):
        x = arrays[0]
        axes = tuple(attrs["axes"])
        with np.errstate(all="ignore"):
            r = np_fn(x, axes, attrs["keepdims"])
        return [np.asarray(r).astype(out_dtype.np if out_dtype else x.dtype, copy=False)]

    def gradient(em, inputs, outputs, attrs, grads):
        return [grad(em, inputs[0], outputs[0], grads[0], tuple(attrs["axes"]), attrs["keepdims"])]

    return register(OpDef(name, "reduce", infer, ref, arity=1, reduction=spec,
                          grad=gradient if grad else None, differentiable=grad is not None))


_NUM = (lambda d: d.is_numeric, "a numeric")
_BOOL = (lambda d: d.is_bool, "a bool")


def _sum_grad(em, x, y, g, axes, keepdims):
    shape = em.type(x).shape
    if not keepdims:
        g = _keep(em, g, shape, axes)
    return em.broadcast_to(g, shape=tuple(shape))


def _mean_grad(em, x, y, g, axes, keepdims):
    t = em.type(x)
    count = num_elements([t.shape[a] for a in axes])
    if isinstance(count, int):
        scale = em.scalar_like(1.0 / max(count, 1), x)
    else:
        scale = em.reciprocal(em.cast(em.size(x, axes=axes), dtype=t.dtype))
    return em.mul(_sum_grad(em, x, y, g, axes, keepdims), scale)


def _extremum_grad(em, x, y, g, axes, keepdims):
    """TF's rule: the gradient is split evenly between tied extrema."""
    shape = em.type(x).shape
    if not keepdims:
        y = _keep(em, y, shape, axes)
        g = _keep(em, g, shape, axes)
    mask = em.cast(em.equal(x, y), dtype=em.type(x).dtype)
    count = em.reduce_sum(mask, axes=axes, keepdims=True)
    return em.mul(em.div(mask, count), g)


def _prod_grad(em, x, y, g, axes, keepdims):
    shape = em.type(x).shape
    if not keepdims:
        y = _keep(em, y, shape, axes)
        g = _keep(em, g, shape, axes)
    # y / x is wrong where x == 0; TF computes exclusive cumulative products. We use the
    # division form guarded for zeros: the product of the other elements is recomputed.
    zero = em.scalar_like(0, x)
    is_zero = em.equal(x, zero)
    safe_x = em.select(is_zero, em.scalar_like(1, x), x)
    prod_nonzero = em.reduce_prod(safe_x, axes=axes, keepdims=True)
    zeros_count = em.reduce_sum(em.cast(is_zero, dtype=em.type(x).dtype), axes=axes, keepdims=True)
    one = em.scalar_like(1, x)
    others = em.select(is_zero, em.select(em.equal(zeros_count, one), prod_nonzero, zero),
                       em.select(em.greater(zeros_count, zero), zero, em.div(prod_nonzero, safe_x)))
    return em.mul(others, g)


def _mean_finalize(acc, count, dtype):
    if dtype.is_floating:
        return Binary("div", acc, Cast(count, dtype))
    return Binary("div", acc, Cast(count, dtype))  # integer mean truncates toward zero, as TF


def _lowest(d):
    return -np.inf if d.is_floating else (False if d.is_bool else int(d.min))


def _highest(d):
    return np.inf if d.is_floating else (True if d.is_bool else int(d.max))


reduction("reduce_sum", lambda x, a, k: np.sum(x, axis=a, keepdims=k),
          ReduceSpec(lambda d: 0, lambda acc, x: Binary("add", acc, x)), _NUM, _sum_grad)
reduction("reduce_mean", lambda x, a, k: _int_mean(x, a, k),
          ReduceSpec(lambda d: 0, lambda acc, x: Binary("add", acc, x), finalize=_mean_finalize), _NUM, _mean_grad)
reduction("reduce_prod", lambda x, a, k: np.prod(x, axis=a, keepdims=k),
          ReduceSpec(lambda d: 1, lambda acc, x: Binary("mul", acc, x)), _NUM, _prod_grad)
reduction("reduce_max", lambda x, a, k: np.max(x, axis=a, keepdims=k, initial=_lowest(dt.from_numpy(x.dtype))),
          ReduceSpec(_lowest, lambda acc, x: Binary("max", acc, x)), _NUM, _extremum_grad)
reduction("reduce_min", lambda x, a, k: np.min(x, axis=a, keepdims=k, initial=_highest(dt.from_numpy(x.dtype))),
          ReduceSpec(_highest, lambda acc, x: Binary("min", acc, x)), _NUM, _extremum_grad)
reduction("reduce_any", lambda x, a, k: np.any(x, axis=a, keepdims=k),
          ReduceSpec(lambda d: False, lambda acc, x: Binary("or", acc, x)), _BOOL)
reduction("reduce_all", lambda x, a, k: np.all(x, axis=a, keepdims=k),
          ReduceSpec(lambda d: True, lambda acc, x: Binary("and", acc, x)), _BOOL)


def _int_mean(x, axes, keepdims):
    if x.dtype.kind in "iu":
        n = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        s = np.sum(x, axis=axes, keepdims=keepdims)
        return np.where(n == 0, 0, np.trunc(s / max(n, 1))).astype(x.dtype)
    return np.mean(x, axis=axes, keepdims=keepdims)


# --------------------------------------------------------------------- argmax / argmin
def _arg_infer(name):
    def infer(types, attrs):
        (t,) = types
        require(name, t, *_NUM)
        axis = attrs["axis"]
        _check_axes(name, t, (axis,))
        if t.shape[axis] == 0:
            raise OpError(f"{name}: cannot reduce over the empty axis {axis} of {format_shape(t.shape)}")
        return [TensorType(reduced_shape(t.shape, (axis,), False), attrs["output_type"])]
    return infer


for _name, _fn, _cmp in (("argmax", np.argmax, "gt"), ("argmin", np.argmin, "lt")):
    register(OpDef(_name, "reduce", _arg_infer(_name),
                   (lambda f: lambda arrays, attrs: [f(arrays[0], axis=attrs["axis"]).astype(attrs["output_type"].np)])(_fn),
                   arity=1, differentiable=False,
                   reduction=ReduceSpec(_lowest if _cmp == "gt" else _highest,
                                        (lambda c: lambda acc, x: Binary(c, x, acc))(_cmp)),
                   extra={"arg": True}))


# ------------------------------------------------------------------------------------ size
def _size_infer(types, attrs):
    return [TensorType((), dt.int32)]


register(OpDef("size", "injective", _size_infer,
               lambda arrays, attrs: [np.asarray(int(np.prod([arrays[0].shape[a] for a in attrs["axes"]])), np.int32)],
               arity=1, differentiable=False,
               index=lambda ctx, idx: Cast(_count_expr(ctx), ctx.out_type.dtype), extra={"index_in_range": True},
               doc="Number of elements over `axes` (symbolic dims resolved at run time)."))


def _count_expr(ctx):
    from ..loopir import Const as C, INDEX, dim_expr
    n = C(1, INDEX)
    for a in ctx.attrs["axes"]:
        n = n * dim_expr(ctx.in_types[0].shape[a])
    return n
