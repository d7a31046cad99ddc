"""Composite ops: defined by a decomposition into primitives (applied by the `decompose` pass
before autodiff), plus a direct numpy reference.

Decompositions follow TF's own formulas so that autodiff through them reproduces TF's
gradients: max-shifts are wrapped in stop_gradient (softmax is shift invariant),
reduce_logsumexp zeroes a non-finite max, sigmoid cross-entropy uses TF's select-based
stable formula (its gradient at logits == 0 included), moments stops the gradient through
the mean inside the variance, and clip_by_value is minimum-then-maximum (ties pass the
gradient to the clipped tensor, as TF's Maximum/Minimum gradients do).
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType
from ..shapes import normalize_axes, normalize_axis
from .common import require, same_dtype
from .index_util import shape_str, static_eq
from .reduce import reduced_shape
from .registry import OpDef, OpError, register

_FLOAT = (lambda d: d.is_floating, "a floating-point")


def composite(name, infer, reference, decompose, arity=None, doc=""):
    return register(OpDef(name, "composite", infer, reference, arity=arity, decompose=decompose, doc=doc))


def _same_shape(op, a, b):
    if a.rank != b.rank or not all(static_eq(x, y) for x, y in zip(a.shape, b.shape)):
        raise OpError(f"{op}: shapes must be equal, got {shape_str(a)} and {shape_str(b)}")


def _float_like(op, t):
    require(op, t, *_FLOAT)
    return t


def _axis(attrs, rank, op, key="axis", default=-1):
    return normalize_axis(int(attrs.get(key, default)), rank, op)


def _shifted(em, x, axes):
    """x - stop_gradient(max(x)) over `axes` (keepdims), the stable base of the softmax family."""
    return em.sub(x, em.stop_gradient(em.reduce_max(x, axes=axes, keepdims=True)))


def _np_shifted(x, axes):
    with np.errstate(all="ignore"):
        return x - np.max(x, axis=axes, keepdims=True)


# ----------------------------------------------------------------------- softmax, log_softmax
def _softmax_infer(name):
    def infer(types, attrs):
        (t,) = types
        _float_like(name, t)
        if t.rank == 0:
            raise OpError(f"{name}: logits must have rank >= 1, got {shape_str(t)}")
        _axis(attrs, t.rank, name)
        return [t]
    return infer


def _softmax_ref(arrays, attrs):
    x = arrays[0]
    a = _axis(attrs, x.ndim, "softmax")
    with np.errstate(all="ignore"):
        e = np.exp(_np_shifted(x, (a,)))
        return [(e * (1 / np.sum(e, axis=a, keepdims=True))).astype(x.dtype)]


def _softmax_decompose(em, inputs, attrs):
    (x,) = inputs
    a = (_axis(attrs, em.type(x).rank, "softmax"),)
    e = em.exp(_shifted(em, x, a))
    # TF's CPU kernel multiplies by the reciprocal of the row sum (one division per row).
    return [em.mul(e, em.reciprocal(em.reduce_sum(e, axes=a, keepdims=True)))]


composite("softmax", _softmax_infer("softmax"), _softmax_ref, _softmax_decompose, arity=1,
          doc="exp(x - max) * (1 / sum(exp(x - max))) along `axis` (default -1).")


def _log_softmax_ref(arrays, attrs):
    x = arrays[0]
    a = _axis(attrs, x.ndim, "log_softmax")
    with np.errstate(all="ignore"):
        s = _np_shifted(x, (a,))
        return [(s - np.log(np.sum(np.exp(s), axis=a, keepdims=True))).astype(x.dtype)]


def _log_softmax_decompose(em, inputs, attrs):
    (x,) = inputs
    a = (_axis(attrs, em.type(x).rank, "log_softmax"),)
    s = _shifted(em, x, a)
    return [em.sub(s, em.log(em.reduce_sum(em.exp(s), axes=a, keepdims=True)))]


composite("log_softmax", _softmax_infer("log_softmax"), _log_softmax_ref, _log_softmax_decompose, arity=1,
          doc="x - max - log(sum(exp(x - max))) along `axis` (default -1).")


# --------------------------------------------------------------------------- reduce_logsumexp
def _lse_axes(t, attrs):
    return normalize_axes(attrs.get("axes"), t.rank, "reduce_logsumexp")


def _lse_infer(types, attrs):
    (t,) = types
    _float_like("reduce_logsumexp", t)
    return [TensorType(reduced_shape(t.shape, _lse_axes(t, attrs), bool(attrs.get("keepdims", False))), t.dtype)]


def _lse_ref(arrays, attrs):
    x = arrays[0]
    axes = _lse_axes(TensorType(x.shape, None), attrs)
    keep = bool(attrs.get("keepdims", False))
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, np.zeros_like(m))
        r = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return [(r if keep else r.reshape(reduced_shape(x.shape, axes, False))).astype(x.dtype)]


def _lse_decompose(em, inputs, attrs):
    (x,) = inputs
    t = em.type(x)
    axes = _lse_axes(t, attrs)
    keep = bool(attrs.get("keepdims", False))
    raw = em.reduce_max(x, axes=axes, keepdims=True)
    m = em.stop_gradient(em.select(em.is_finite(raw), raw, em.scalar_like(0, raw)))
    s = em.log(em.reduce_sum(em.exp(em.sub(x, m)), axes=axes, keepdims=keep))
    return [em.add(s, m if keep else em.reshape(m, shape=reduced_shape(t.shape, axes, False)))]


composite("reduce_logsumexp", _lse_infer, _lse_ref, _lse_decompose, arity=1,
          doc="log(sum(exp(x))) over `axes` (None = all), stable (TF's max shift). attrs: axes, keepdims.")


# -------------------------------------------------------------------------- cross entropies
def _xent_infer(types, attrs):
    labels, logits = types
    op = "softmax_cross_entropy_with_logits"
    same_dtype(op, types)
    _float_like(op, logits)
    _same_shape(op, labels, logits)
    if logits.rank == 0:
        raise OpError(f"{op}: logits must have rank >= 1, got {shape_str(logits)}")
    a = _axis(attrs, logits.rank, op)
    return [TensorType(tuple(d for i, d in enumerate(logits.shape) if i != a), logits.dtype)]


def _xent_ref(arrays, attrs):
    labels, x = arrays
    a = _axis(attrs, x.ndim, "softmax_cross_entropy_with_logits")
    with np.errstate(all="ignore"):
        s = _np_shifted(x, (a,))
        lsm = s - np.log(np.sum(np.exp(s), axis=a, keepdims=True))
        return [(-np.sum(labels * lsm, axis=a)).astype(x.dtype)]


def _xent_decompose(em, inputs, attrs):
    """loss = -sum(labels * log_softmax(logits)), arranged so the gradients are TF's:
    d/dlogits = softmax - labels (even when labels do not sum to 1) and
    d/dlabels = -log_softmax. Autodiff of the plain formula gives softmax * sum(labels) -
    labels, so a term with value 0 adds (1 - sum(labels)) * softmax to the logits gradient."""
    labels, x = inputs
    t = em.type(x)
    a = (_axis(attrs, t.rank, "softmax_cross_entropy_with_logits"),)
    out_shape = reduced_shape(t.shape, a, False)
    s = _shifted(em, x, a)
    lse = em.log(em.reduce_sum(em.exp(s), axes=a, keepdims=True))
    loss = em.neg(em.reduce_sum(em.mul(labels, em.sub(s, lse)), axes=a, keepdims=False))
    one_minus_total = em.stop_gradient(em.sub(em.scalar_like(1, labels),
                                              em.reduce_sum(labels, axes=a, keepdims=True)))
    zero_valued = em.mul(one_minus_total, em.sub(lse, em.stop_gradient(lse)))
    return [em.add(loss, em.reshape(zero_valued, shape=out_shape))]


composite("softmax_cross_entropy_with_logits", _xent_infer, _xent_ref, _xent_decompose, arity=2,
          doc="Per-example -sum(labels * log_softmax(logits)) along `axis` (default -1). Operands: labels, "
              "logits.")


def _sparse_xent_infer(types, attrs):
    labels, logits = types
    op = "sparse_softmax_cross_entropy_with_logits"
    if not labels.dtype.is_integer:
        raise OpError(f"{op}: labels must be int32 or int64, got {shape_str(labels)}")
    _float_like(op, logits)
    if logits.rank != labels.rank + 1 or not all(static_eq(a, b) for a, b in zip(labels.shape, logits.shape)):
        raise OpError(f"{op}: labels {shape_str(labels)} must have the shape of logits {shape_str(logits)} "
                      f"without its last dimension")
    # logits' dims, not the labels': with separate batch symbols they are equal only at run time,
    # and the decomposition's result has the logits' shape
    return [TensorType(tuple(logits.shape[:-1]), logits.dtype)]


def _sparse_xent_ref(arrays, attrs):
    labels, x = arrays
    c = x.shape[-1]
    if np.any((labels < 0) | (labels >= c)):
        bad = labels[(labels < 0) | (labels >= c)].flat[0]
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: received a label value of {bad} which is "
                         f"outside the valid range of [0, {c})")
    with np.errstate(all="ignore"):
        s = _np_shifted(x, (x.ndim - 1,))
        lse = np.log(np.sum(np.exp(s), axis=-1))
        picked = np.take_along_axis(s, labels.astype(np.int64)[..., None], axis=-1)[..., 0]
        return [(lse - picked).astype(x.dtype)]


def _sparse_xent_decompose(em, inputs, attrs):
    """lse - sum(one_hot(label) * logits): gradient softmax - one_hot(label), as TF, and
    elementwise (it fuses; a gather's gradient would be a scatter kernel). The one_hot checks
    the labels (TF's CPU kernel raises for labels outside [0, classes))."""
    labels, x = inputs
    t = em.type(x)
    r = t.rank
    s = _shifted(em, x, (r - 1,))
    lse = em.log(em.reduce_sum(em.exp(s), axes=(r - 1,), keepdims=False))
    hot = em.one_hot(labels, depth=t.shape[-1], dtype=t.dtype, check_range=True)
    picked = em.reduce_sum(em.mul(hot, s), axes=(r - 1,), keepdims=False)
    return [em.sub(lse, picked)]


composite("sparse_softmax_cross_entropy_with_logits", _sparse_xent_infer, _sparse_xent_ref,
          _sparse_xent_decompose, arity=2,
          doc="Per-example cross-entropy with integer class labels. Operands: labels, logits.")


def _sig_xent_infer(types, attrs):
    labels, logits = types
    op = "sigmoid_cross_entropy_with_logits"
    same_dtype(op, types)
    _float_like(op, logits)
    _same_shape(op, labels, logits)
    return [logits]


def _sig_xent_ref(arrays, attrs):
    z, x = arrays
    with np.errstate(all="ignore"):
        return [(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)]


def _sig_xent_decompose(em, inputs, attrs):
    labels, x = inputs
    zero = em.scalar_like(0, x)
    cond = em.greater_equal(x, zero)
    relu_logits = em.select(cond, x, zero)
    neg_abs = em.select(cond, em.neg(x), x)
    return [em.add(em.sub(relu_logits, em.mul(x, labels)), em.log1p(em.exp(neg_abs)))]


composite("sigmoid_cross_entropy_with_logits", _sig_xent_infer, _sig_xent_ref, _sig_xent_decompose, arity=2,
          doc="max(x, 0) - x*z + log1p(exp(-|x|)) (TF's stable formula). Operands: labels, logits.")


# ------------------------------------------------------------------------- small composites
def _l2_loss_infer(types, attrs):
    (t,) = types
    _float_like("l2_loss", t)
    return [TensorType((), t.dtype)]


composite("l2_loss", _l2_loss_infer,
          lambda arrays, attrs: [np.asarray(np.sum(np.square(arrays[0])) / 2, arrays[0].dtype)],
          lambda em, ins, attrs: [em.mul(em.reduce_sum(em.square(ins[0]), axes=tuple(range(em.type(ins[0]).rank)),
                                                       keepdims=False), em.scalar_like(0.5, ins[0]))],
          arity=1, doc="sum(x**2) / 2.")


def _bias_axis(value, attrs):
    fmt = str(attrs.get("data_format", "NHWC") or "NHWC").upper()
    if value.rank < 2:
        raise OpError(f"bias_add: value must have rank >= 2, got {shape_str(value)}")
    if fmt.startswith("NC"):
        return 1
    if fmt.startswith("N") and fmt.endswith("C"):
        return value.rank - 1
    raise OpError(f"bias_add: unsupported data_format {fmt!r} (use NHWC-style or NCHW-style)")


def _bias_infer(types, attrs):
    value, bias = types
    same_dtype("bias_add", types)
    axis = _bias_axis(value, attrs)
    if bias.rank != 1 or not static_eq(bias.shape[0], value.shape[axis]):
        raise OpError(f"bias_add: bias must be 1-D of size {value.shape[axis]} (dimension {axis} of value "
                      f"{shape_str(value)}), got {shape_str(bias)}")
    return [value]


def _bias_shape(value_t, attrs, c):
    axis = _bias_axis(value_t, attrs)
    return (c,) + (1,) * (value_t.rank - 1 - axis)


composite("bias_add", _bias_infer,
          lambda arrays, attrs: [arrays[0] + arrays[1].reshape(
              _bias_shape(TensorType(arrays[0].shape, None), attrs, arrays[1].shape[0]))],
          lambda em, ins, attrs: [em.add(ins[0], em.reshape(ins[1], shape=_bias_shape(
              em.type(ins[0]), attrs, em.type(ins[1]).shape[0])))],
          arity=2, doc="value + bias along the channel axis. attrs: data_format (NHWC default, or NCHW).")


def _clip_infer(types, attrs):
    t, lo, hi = types
    same_dtype("clip_by_value", types)
    require("clip_by_value", t, lambda d: d.is_numeric, "a numeric")
    from ..shapes import broadcast_shapes
    out = broadcast_shapes(t.shape, lo.shape, hi.shape, op="clip_by_value")
    if tuple(out) != tuple(t.shape):
        raise OpError(f"clip_by_value: clip values {shape_str(lo)}, {shape_str(hi)} would broadcast "
                      f"{shape_str(t)} to {list(out)}")
    return [t]


composite("clip_by_value", _clip_infer,
          lambda arrays, attrs: [np.maximum(np.minimum(arrays[0], arrays[2]), arrays[1]).astype(arrays[0].dtype)],
          lambda em, ins, attrs: [em.maximum(em.minimum(ins[0], ins[2]), ins[1])],
          arity=3, doc="maximum(minimum(t, clip_max), clip_min). Operands: t, clip_min, clip_max.")


def _l2n_axes(t, attrs):
    return normalize_axes(attrs.get("axis"), t.rank, "l2_normalize")


def _l2n_infer(types, attrs):
    (t,) = types
    _float_like("l2_normalize", t)
    _l2n_axes(t, attrs)
    return [t]


def _l2n_ref(arrays, attrs):
    x = arrays[0]
    axes = _l2n_axes(TensorType(x.shape, None), attrs)
    ss = np.sum(np.square(x), axis=axes, keepdims=True)
    eps = np.asarray(attrs.get("epsilon", 1e-12), x.dtype)
    return [(x / np.sqrt(np.maximum(ss, eps))).astype(x.dtype)]


def _l2n_decompose(em, inputs, attrs):
    (x,) = inputs
    axes = _l2n_axes(em.type(x), attrs)
    ss = em.reduce_sum(em.square(x), axes=axes, keepdims=True)
    return [em.mul(x, em.rsqrt(em.maximum(ss, em.scalar_like(attrs.get("epsilon", 1e-12), x))))]


composite("l2_normalize", _l2n_infer, _l2n_ref, _l2n_decompose, arity=1,
          doc="x * rsqrt(max(sum(x**2, axis), epsilon)). attrs: axis (int, list or None), epsilon=1e-12.")


def _moments_infer(types, attrs):
    (t,) = types
    _float_like("moments", t)
    axes = normalize_axes(attrs["axes"], t.rank, "moments")
    out = TensorType(reduced_shape(t.shape, axes, bool(attrs.get("keepdims", False))), t.dtype)
    return [out, out]


def _moments_ref(arrays, attrs):
    x = arrays[0]
    axes = normalize_axes(attrs["axes"], x.ndim, "moments")
    keep = bool(attrs.get("keepdims", False))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
    shape = reduced_shape(x.shape, axes, keep)
    return [mean.reshape(shape).astype(x.dtype), var.reshape(shape).astype(x.dtype)]


def _moments_decompose(em, inputs, attrs):
    (x,) = inputs
    t = em.type(x)
    axes = normalize_axes(attrs["axes"], t.rank, "moments")
    mean = em.reduce_mean(x, axes=axes, keepdims=True)
    var = em.reduce_mean(em.squared_difference(x, em.stop_gradient(mean)), axes=axes, keepdims=True)
    if attrs.get("keepdims", False):
        return [mean, var]
    shape = reduced_shape(t.shape, axes, False)
    return [em.reshape(mean, shape=shape), em.reshape(var, shape=shape)]


composite("moments", _moments_infer, _moments_ref, _moments_decompose, arity=1,
          doc="(mean, variance) over `axes`; the variance does not backpropagate through the mean (TF). "
              "attrs: axes, keepdims.")


def _add_n_infer(types, attrs):
    if not types:
        raise OpError("add_n: needs at least one operand")
    d = same_dtype("add_n", types)
    for t in types[1:]:
        _same_shape("add_n", types[0], t)
    return [TensorType(types[0].shape, d)]


def _add_n_decompose(em, inputs, attrs):
    total = inputs[0]
    for v in inputs[1:]:
        total = em.add(total, v)
    return [total if len(inputs) > 1 else em.identity(total)]


composite("add_n", _add_n_infer,
          lambda arrays, attrs: [np.sum(np.stack(arrays), axis=0).astype(arrays[0].dtype)],
          _add_n_decompose, doc="Sum of equal-shaped operands.")
