"""`tf.nn`: activations, softmax and cross-entropies, convolutions and pooling, dropout,
normalization — TF's signatures (TF2 here; the TF1 spellings end in `_v1`), defaults and
default op names. Convolutions and pools are NHWC kernels; NCHW inputs are transposed around
them.
"""
from __future__ import annotations

import numbers

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import math_ops as M
from .array_ops import (_as_int, _scalar_const, _to_tensor, concat, expand_dims, gather, identity,
                        normalize_axes, normalize_axis, op_scope, reshape, shape, shape_arg, squeeze,
                        static_value, stop_gradient, transpose, where)
from .core import apply_op
from .tensor import Tensor, is_tensor


def _float_input(op: str, t):
    if not t.dtype.is_floating:
        raise TypeError(f"{op}: expects a floating-point input, got {t.dtype.name} tensor of shape {t.shape}")
    return t


# ============================================================================ activations
def relu(features, name=None):
    with op_scope(name, "Relu", [features]) as scope:
        x = _to_tensor(features)
        M._check_dtype("Relu", x, "numeric", "features")
        return apply_op("relu", [x], {}, name=scope)


def relu6(features, name=None):
    with op_scope(name, "Relu6", [features]) as scope:
        x = _to_tensor(features)
        M._check_dtype("Relu6", x, "numeric", "features")
        return apply_op("relu6", [x], {}, name=scope)


def elu(features, name=None):
    with op_scope(name, "Elu", [features]) as scope:
        return apply_op("elu", [_float_input("Elu", _to_tensor(features))], {}, name=scope)


def selu(features, name=None):
    with op_scope(name, "Selu", [features]) as scope:
        return apply_op("selu", [_float_input("Selu", _to_tensor(features))], {}, name=scope)


def leaky_relu(features, alpha=0.2, name=None):
    """max(alpha * x, x); integer inputs are converted to float32 first, as TF."""
    with op_scope(name, "LeakyRelu", [features, alpha]) as scope:
        x = _to_tensor(features)
        if x.dtype.is_integer:
            x = M.cast(x, dt.float32)
        _float_input("LeakyRelu", x)
        a = static_value(alpha)
        if a is None:   # a tensor slope: the general formula
            at = M.cast(_to_tensor(alpha), x.dtype)
            return M.maximum(M.multiply(at, x), x, name=scope)
        return apply_op("leaky_relu", [x], {"alpha": float(a)}, name=scope)


def softplus(features, name=None):
    return M.softplus(features, name=name)


def softsign(features, name=None):
    return M.softsign(features, name=name)


def sigmoid(x, name=None):
    return M.sigmoid(x, name=name)


def tanh(x, name=None):
    return M.tanh(x, name=name)


def swish(features, beta=1.0, name=None):
    """x * sigmoid(beta * x) (also `tf.nn.silu`)."""
    with op_scope(name, "swish", [features]) as scope:
        x = _float_input("swish", _to_tensor(features))
        inner = x if beta == 1.0 else M.multiply(x, beta)
        return M.multiply(x, M.sigmoid(inner), name=scope)


silu = swish


def gelu(features, approximate=False, name=None):
    with op_scope(name, "Gelu", [features]) as scope:
        x = _float_input("Gelu", _to_tensor(features))
        if approximate:
            c = 0.7978845608028654
            cube = M.multiply(M.multiply(x, x), x)
            inner = M.multiply(M.add(x, M.multiply(cube, 0.044715)), c)
            return M.multiply(M.multiply(x, 0.5), M.add(M.tanh(inner), 1.0), name=scope)
        return M.multiply(M.multiply(x, 0.5), M.erfc(M.multiply(M.negative(x), 0.7071067811865476)), name=scope)


def crelu(features, name=None, axis=-1):
    with op_scope(name, "CRelu", [features]) as scope:
        x = _to_tensor(features)
        return relu(concat([x, M.negative(x)], axis), name=scope)


def log_sigmoid(x, name=None):
    return M.log_sigmoid(x, name=name)


# ========================================================================= softmax family
def _softmax(op_type, default, logits, axis, name):
    with op_scope(name, default, [logits]) as scope:
        x = _float_input(default, _to_tensor(logits))
        r = x.shape.rank
        a = -1 if axis is None else _as_int(axis, f"{default}: axis")
        if r is not None:
            if r == 0:
                raise ValueError(f"{default}: logits must have rank >= 1, got a scalar")
            a = normalize_axis(a, r, default)
        return apply_op(op_type, [x], {"axis": a}, name=scope)


def softmax(logits, axis=None, name=None):
    return _softmax("softmax", "Softmax", logits, axis, name)


def log_softmax(logits, axis=None, name=None):
    return _softmax("log_softmax", "LogSoftmax", logits, axis, name)


def _axis_or_dim(axis, dim):
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        return dim
    return axis


def softmax_v1(logits, axis=None, name=None, dim=None):
    return softmax(logits, _axis_or_dim(axis, dim), name)


def log_softmax_v1(logits, axis=None, name=None, dim=None):
    return log_softmax(logits, _axis_or_dim(axis, dim), name)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """Per-example -sum(labels * log_softmax(logits)); gradients flow into labels too (TF2)."""
    with op_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        lg = _float_input("SoftmaxCrossEntropyWithLogits", _to_tensor(logits))
        lb = M.cast(_to_tensor(labels), lg.dtype) if is_tensor(labels) else _to_tensor(labels, dtype=lg.dtype)
        if not lb.shape.is_compatible_with(lg.shape):
            raise ValueError(f"softmax_cross_entropy_with_logits: logits and labels must have the same shape, "
                             f"received ({lg.shape} vs {lb.shape})")
        r = lg.shape.rank
        a = normalize_axis(axis if axis is not None else -1, r, "softmax_cross_entropy_with_logits") \
            if r is not None else axis
        return apply_op("softmax_cross_entropy_with_logits", [lb, lg], {"axis": a}, name=scope)


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None):
    return softmax_cross_entropy_with_logits(labels, logits, _axis_or_dim(axis, dim) if
                                             _axis_or_dim(axis, dim) is not None else -1, name)


def _no_positional(sentinel, fn: str):
    if sentinel is not None:
        raise ValueError(f"Only call `{fn}` with named arguments (labels=..., logits=..., ...). "
                         f"Received unnamed argument: {sentinel}")


def softmax_cross_entropy_with_logits_v1(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """TF1 (deprecated) form: no gradient flows into the labels."""
    _no_positional(_sentinel, "softmax_cross_entropy_with_logits")
    axis = _axis_or_dim(axis, dim if dim != -1 else None)
    with op_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        labels = stop_gradient(_to_tensor(labels), name="labels_stop_gradient")
        return softmax_cross_entropy_with_logits(labels, logits, -1 if axis is None else axis, name=scope)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    with op_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]) as scope:
        lb = _to_tensor(labels)
        lg = _float_input("SparseSoftmaxCrossEntropyWithLogits", _to_tensor(logits))
        if not lb.dtype.is_integer:
            raise TypeError(f"SparseSoftmaxCrossEntropyWithLogits: labels must be int32 or int64, got "
                            f"{lb.dtype.name}")
        if lb.shape.rank is not None and lg.shape.rank is not None:
            if lg.shape.rank == 0:
                raise ValueError(f"Logits cannot be scalars - received shape {lg.shape}.")
            if lb.shape.rank != lg.shape.rank - 1:
                raise ValueError(f"Rank mismatch: Rank of labels (received {lb.shape.rank}) should equal rank of "
                                 f"logits minus 1 (received {lg.shape.rank}).")
            if not lb.shape.is_compatible_with(lg.shape[:-1]):
                raise ValueError(f"`labels.shape` must equal `logits.shape` except for the last dimension. "
                                 f"Received: labels.shape={lb.shape} and logits.shape={lg.shape}")
        return apply_op("sparse_softmax_cross_entropy_with_logits", [lb, lg], {}, name=scope)


def sparse_softmax_cross_entropy_with_logits_v1(_sentinel=None, labels=None, logits=None, name=None):
    _no_positional(_sentinel, "sparse_softmax_cross_entropy_with_logits")
    return sparse_softmax_cross_entropy_with_logits(labels, logits, name)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    with op_scope(name, "logistic_loss", [logits, labels]) as scope:
        lg = _float_input("logistic_loss", _to_tensor(logits))
        lb = _to_tensor(labels, dtype=lg.dtype) if not is_tensor(labels) else _to_tensor(labels)
        if lb.dtype != lg.dtype:
            raise TypeError(f"logistic_loss: labels ({lb.dtype.name}) and logits ({lg.dtype.name}) must have "
                            f"the same dtype")
        if not lb.shape.is_compatible_with(lg.shape):
            raise ValueError(f"`logits` and `labels` must have the same shape, received ({lg.shape} vs "
                             f"{lb.shape}).")
        return apply_op("sigmoid_cross_entropy_with_logits", [lb, lg], {}, name=scope)


def sigmoid_cross_entropy_with_logits_v1(_sentinel=None, labels=None, logits=None, name=None):
    _no_positional(_sentinel, "sigmoid_cross_entropy_with_logits")
    return sigmoid_cross_entropy_with_logits(labels, logits, name)


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """(1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-|x|)) + max(-x, 0)), TF's stable form."""
    with op_scope(name, "logistic_loss", [logits, labels]) as scope:
        x = _float_input("logistic_loss", _to_tensor(logits))
        z = _to_tensor(labels, dtype=x.dtype) if not is_tensor(labels) else _to_tensor(labels)
        q = _to_tensor(pos_weight, dtype=x.dtype) if not is_tensor(pos_weight) else _to_tensor(pos_weight)
        log_weight = M.add(1, M.multiply(M.subtract(q, 1), z))
        softplus_neg = M.add(M.log1p(M.exp(M.negative(M.abs(x)))), relu(M.negative(x)))
        return M.add(M.multiply(M.subtract(1, z), x), M.multiply(log_weight, softplus_neg), name=scope)


def weighted_cross_entropy_with_logits_v1(targets, logits, pos_weight, name=None):
    return weighted_cross_entropy_with_logits(targets, logits, pos_weight, name)


# ======================================================================= small composites
def l2_loss(t, name=None):
    with op_scope(name, "L2Loss", [t]) as scope:
        return apply_op("l2_loss", [_float_input("L2Loss", _to_tensor(t))], {}, name=scope)


def bias_add(value, bias, data_format=None, name=None):
    with op_scope(name, "BiasAdd", [value, bias]) as scope:
        v = _to_tensor(value)
        b = _to_tensor(bias, dtype=v.dtype) if not is_tensor(bias) else _to_tensor(bias)
        M._check_same("BiasAdd", v, b)
        if b.shape.rank is not None and b.shape.rank != 1:
            raise ValueError(f"BiasAdd: bias must be 1-D, got shape {b.shape}")
        if v.shape.rank is not None and v.shape.rank < 2:
            raise ValueError(f"BiasAdd: value must have rank >= 2, got shape {v.shape}")
        fmt = (data_format or "NHWC").upper()
        if v.shape.rank is not None:
            c = v.shape[1] if fmt.startswith("NC") else v.shape[-1]
            if c is not None and b.shape.rank == 1 and b.shape[0] is not None and c != b.shape[0]:
                raise ValueError(f"BiasAdd: the bias size {b.shape[0]} must match the channel dimension {c} of "
                                 f"value shape {v.shape} ({fmt})")
        return apply_op("bias_add", [v, b], {"data_format": fmt}, name=scope)


def bias_add_v1(value, bias, data_format=None, name=None):
    return bias_add(value, bias, data_format, name)


def xw_plus_b(x, weights, biases, name=None):
    with op_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        return bias_add(M.matmul(x, weights), biases, name=scope)


def relu_layer(x, weights, biases, name=None):
    with op_scope(name, "relu_layer", [x, weights, biases]) as scope:
        return relu(bias_add(M.matmul(x, weights), biases), name=scope)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    axis = _axis_or_dim(axis, dim)
    with op_scope(name, "l2_normalize", [x]) as scope:
        t = _float_input("l2_normalize", _to_tensor(x))
        if t.shape.rank is None:
            raise ValueError("l2_normalize: the input's rank must be known")
        axes = normalize_axes(axis, t.shape.rank, "l2_normalize")
        return apply_op("l2_normalize", [t], {"axis": axes, "epsilon": float(epsilon)}, name=scope)


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) over `axes`; float16 statistics are computed in float32, as TF."""
    with op_scope(name, "moments", [x, axes]) as scope:
        t = _float_input("moments", _to_tensor(x))
        if t.shape.rank is None:
            raise ValueError("moments: the input's rank must be known")
        ax = normalize_axes(axes, t.shape.rank, "moments")
        y = M.cast(t, dt.float32) if t.dtype == dt.float16 else t
        mean, variance = apply_op("moments", [y], {"axes": ax, "keepdims": bool(keepdims)}, name=scope)
        if t.dtype == dt.float16:
            mean, variance = M.cast(mean, dt.float16), M.cast(variance, dt.float16)
        return mean, variance


def moments_v1(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    return moments(x, axes, shift, M._resolve_keepdims(keepdims, keep_dims), name)


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) * scale / sqrt(variance + eps) + offset, in TF's operation order."""
    with op_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        xt = _to_tensor(x)
        inv = M.rsqrt(M.add(variance, variance_epsilon))
        if scale is not None:
            inv = M.multiply(inv, scale)
        shift = M.subtract(offset, M.multiply(mean, inv)) if offset is not None else \
            M.negative(M.multiply(mean, inv))
        return M.add(M.multiply(xt, M.cast(inv, xt.dtype)), M.cast(shift, xt.dtype))


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """Returns (y, batch_mean, batch_variance); in training the returned variance is the unbiased
    (n / (n-1)) estimate while y uses the biased one, as TF's FusedBatchNorm."""
    with op_scope(name, "FusedBatchNormV3", [x, scale, offset]):
        xt = _float_input("FusedBatchNorm", _to_tensor(x))
        fmt = (data_format or "NHWC").upper()
        if xt.shape.rank != 4:
            raise ValueError(f"FusedBatchNorm: x must be 4-D, got shape {xt.shape}")
        caxis = 1 if fmt == "NCHW" else 3
        red = [a for a in range(4) if a != caxis]
        bshape = [1, -1, 1, 1] if fmt == "NCHW" else [-1]
        if is_training:
            bm, bv = moments(xt, red)
            dims = xt.shape.as_list()
            n = None if any(dims[a] is None for a in red) else int(np.prod([dims[a] for a in red]))
            if n is None:
                raise ValueError("FusedBatchNorm: the batch and spatial sizes must be known in training mode")
            y = batch_normalization(xt, reshape(bm, bshape), reshape(bv, bshape), reshape(offset, bshape),
                                    reshape(scale, bshape), epsilon)
            unbiased = M.multiply(bv, float(n) / max(n - 1, 1))
            if mean is not None and exponential_avg_factor != 1.0:
                f = exponential_avg_factor
                bm = M.add(M.multiply(mean, 1 - f), M.multiply(bm, f))
                unbiased = M.add(M.multiply(variance, 1 - f), M.multiply(unbiased, f))
            return y, bm, unbiased
        if mean is None or variance is None:
            raise ValueError("FusedBatchNorm: mean and variance are required when is_training=False")
        y = batch_normalization(xt, reshape(mean, bshape), reshape(variance, bshape), reshape(offset, bshape),
                                reshape(scale, bshape), epsilon)
        return y, _to_tensor(mean), _to_tensor(variance)


def zero_fraction(value, name=None):
    with op_scope(name, "zero_fraction", [value]) as scope:
        v = _to_tensor(value)
        return M.reduce_mean(M.cast(M.equal(v, _scalar_const(0, v.dtype)), dt.float32), name=scope)


def embedding_lookup(params, ids, max_norm=None, name=None):
    """params[ids] along axis 0 (a list of params must hold exactly one tensor)."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise ValueError("embedding_lookup: fuseflow supports a single (unsharded) params tensor, got "
                             f"{len(params)}")
        params = params[0]
    with op_scope(name, "embedding_lookup", [params, ids]) as scope:
        out = gather(params, ids, name=scope if max_norm is None else None)
        if max_norm is not None:
            out = M.clip_by_norm(out, max_norm, axes=[-1], name=scope)
        return out


def embedding_lookup_v1(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    return embedding_lookup(params, ids, max_norm, name)


# ================================================================================ dropout
def _noise_shape(x, noise_shape):
    if noise_shape is None:
        return shape(x) if not x.shape.is_fully_defined() else x.shape.as_list()
    v = static_value(noise_shape)
    if v is None:
        return noise_shape
    dims = [int(d) for d in np.ravel(v)]
    if x.shape.rank is not None and len(dims) == x.shape.rank:
        dims = [xd if (d == 1 and xd is None) else d for d, xd in zip(dims, x.shape.as_list())]
        if any(d is None for d in dims):
            return noise_shape
    return dims


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeroes elements with probability `rate` (drawn from random_uniform >= rate) and scales the
    kept ones by 1 / (1 - rate), as TF2's dropout."""
    from .random_ops import _seeds, random_uniform
    with op_scope(name, "dropout", [x]) as scope:
        is_number = isinstance(rate, numbers.Real) and not isinstance(rate, bool)
        if is_number and not 0 <= rate < 1:
            raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). Received: rate={rate}")
        xt = _to_tensor(x)
        if not xt.dtype.is_floating:
            raise ValueError(f"`x.dtype` must be a floating point tensor as `x` will be scaled. Received: "
                             f"x_dtype={xt.dtype!r}")
        if is_number and rate == 0:
            _seeds(seed)   # consume a seed as TF does, so later random ops draw the same numbers
            return xt
        if is_number:
            scaled = M.multiply(xt, _scalar_const(1 / (1 - rate), xt.dtype))
            rate_t = _scalar_const(rate, xt.dtype)
        else:
            rate_t = _to_tensor(rate)
            if rate_t.shape.rank not in (0, None):
                raise ValueError(f"dropout: rate must be a scalar, got shape {rate_t.shape}")
            rate_t = M.cast(rate_t, xt.dtype)
            scaled = M.realdiv(xt, M.subtract(_scalar_const(1, xt.dtype), rate_t))
        noise = random_uniform(_noise_shape(xt, noise_shape), seed=seed, dtype=xt.dtype)
        keep = M.greater_equal(noise, rate_t)
        out = where(keep, scaled, _scalar_const(0, xt.dtype), name=scope)
        if isinstance(out, Tensor) and out.shape.rank is None:
            out.set_shape(xt.shape)     # a rate of unknown rank is still a scalar: keep x's shape
        return out


def dropout_v1(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """TF1 dropout: `keep_prob` (or `rate`), kept elements scaled by 1 / keep_prob."""
    if keep_prob is not None:
        if rate is not None:
            raise ValueError("Cannot specify both 'keep_prob' and 'rate'")
        if isinstance(keep_prob, numbers.Real) and not isinstance(keep_prob, bool):
            if not 0 < keep_prob <= 1:
                raise ValueError(f"`keep_prob` must be a float in the range (0, 1]. Received: {keep_prob}")
            rate = 1 - keep_prob
        else:
            rate = M.subtract(1, keep_prob)
    if rate is None:
        raise ValueError("dropout: either keep_prob or rate must be given")
    return dropout(x, rate, noise_shape=noise_shape, seed=seed, name=name)


# =========================================================================== convolutions
def _window_list(v, what: str):
    if v is None:
        return None
    if isinstance(v, numbers.Integral):
        return int(v)
    s = static_value(v)
    if s is None:
        raise ValueError(f"{what} must be known while building the graph")
    return tuple(int(x) for x in np.ravel(s))


def _padding(padding, op):
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}")
        return p
    try:
        return tuple(tuple(int(x) for x in pair) for pair in padding)
    except TypeError:
        raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or a list of [before, after] pairs, got "
                         f"{padding!r}") from None


def _nchw_to_nhwc(v, fmt):
    """Move a 4-entry NCHW window spec into NHWC order (ints and 1/2-entry specs are unchanged)."""
    if fmt == "NCHW" and isinstance(v, tuple) and len(v) == 4:
        return (v[0], v[2], v[3], v[1])
    return v


def _nhwc_padding(padding, fmt):
    if fmt == "NCHW" and isinstance(padding, tuple) and len(padding) == 4:
        return (padding[0], padding[2], padding[3], padding[1])
    return padding


def _data_format(data_format, op):
    fmt = (data_format or "NHWC").upper()
    if fmt not in ("NHWC", "NCHW"):
        raise ValueError(f"{op}: data_format must be NHWC or NCHW, got {data_format!r}")
    return fmt


def _window_op(op_type, default, inputs, attrs, fmt, name):
    with op_scope(name, default, inputs) as scope:
        first = _float_input(default, _to_tensor(inputs[0]))
        # Later operands share the input's dtype: Python/numpy values convert to it.
        ts = [first] + [_to_tensor(t) if is_tensor(t) else _to_tensor(t, dtype=first.dtype) for t in inputs[1:]]
        if first.shape.rank not in (4, None):
            raise ValueError(f"{default}: input must be 4-D ({fmt}), got shape {first.shape}")
        for t in ts[1:]:
            M._check_same(default, first, t)
        if fmt == "NCHW":
            ts[0] = transpose(ts[0], [0, 2, 3, 1])
            out = apply_op(op_type, ts, dict(attrs, data_format="NHWC"))
            return transpose(out, [0, 3, 1, 2], name=scope)
        return apply_op(op_type, ts, dict(attrs, data_format="NHWC"), name=scope)


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """2-D convolution of an NHWC (or NCHW) input with an HWIO filter."""
    fmt = _data_format(data_format, "Conv2D")
    attrs = {"strides": _nchw_to_nhwc(_window_list(strides, "Conv2D: strides"), fmt),
             "padding": _nhwc_padding(_padding(padding, "Conv2D"), fmt),
             "dilations": _nchw_to_nhwc(_window_list(dilations, "Conv2D: dilations"), fmt) or 1}
    return _window_op("conv2d", "Conv2D", [input, filters], attrs, fmt, name)


def conv2d_v1(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
              dilations=(1, 1, 1, 1), name=None, filters=None):
    if filters is not None:
        if filter is not None:
            raise ValueError("Cannot specify both 'filter' and 'filters'")
        filter = filters
    return conv2d(input, filter, strides, padding, data_format, dilations, name)


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None):
    """A 1-D convolution as a 2-D one over a height-1 image."""
    with op_scope(name, "conv1d", [input, filters]) as scope:
        fmt = (data_format or "NWC").upper()
        x = _to_tensor(input)
        if fmt == "NCW":
            x = transpose(x, [0, 2, 1])
        s = _window_list(stride, "conv1d: stride")
        s = s if isinstance(s, int) else s[-2] if len(s) == 3 else s[0]
        d = _window_list(dilations, "conv1d: dilations") or 1
        d = d if isinstance(d, int) else d[-2] if len(d) == 3 else d[0]
        out = conv2d(expand_dims(x, 1), expand_dims(filters, 0), (1, s), padding, dilations=(1, d))
        out = squeeze(out, [1])
        return transpose(out, [0, 2, 1], name=scope) if fmt == "NCW" else identity(out, name=scope)


def atrous_conv2d(value, filters, rate, padding, name=None):
    return conv2d(value, filters, 1, padding, dilations=rate, name=name)


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None, name=None):
    fmt = _data_format(data_format, "DepthwiseConv2dNative")
    attrs = {"strides": _nchw_to_nhwc(_window_list(strides, "depthwise_conv2d: strides"), fmt),
             "padding": _nhwc_padding(_padding(padding, "depthwise_conv2d"), fmt),
             "dilations": _nchw_to_nhwc(_window_list(dilations, "depthwise_conv2d: dilations"), fmt) or 1}
    return _window_op("depthwise_conv2d", "depthwise", [input, filter], attrs, fmt, name)


def depthwise_conv2d_v1(input, filter, strides, padding, rate=None, name=None, data_format=None, dilations=None):
    if rate is not None:
        if dilations is not None:
            raise ValueError("Cannot specify both 'rate' and 'dilations'")
        dilations = rate
    return depthwise_conv2d(input, filter, strides, padding, data_format, dilations, name)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, data_format=None,
                     dilations=None, name=None):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    with op_scope(name, "separable_conv2d", [input, depthwise_filter, pointwise_filter]) as scope:
        depthwise = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations,
                                     name="depthwise")
        return conv2d(depthwise, pointwise_filter, 1, "VALID", data_format=data_format, name=scope)


def separable_conv2d_v1(input, depthwise_filter, pointwise_filter, strides, padding, rate=None, name=None,
                        data_format=None, dilations=None):
    if rate is not None:
        if dilations is not None:
            raise ValueError("Cannot specify both 'rate' and 'dilations'")
        dilations = rate
    return separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, data_format,
                            dilations, name)


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NHWC", dilations=None,
                     name=None):
    """The gradient of conv2d with respect to its input: `filters` is [h, w, out_channels,
    in_channels] and `output_shape` the (N, H, W, C) result shape."""
    fmt = _data_format(data_format, "conv2d_transpose")
    with op_scope(name, "conv2d_transpose", [input, filters, output_shape]) as scope:
        x = _float_input("conv2d_transpose", _to_tensor(input))
        w = _to_tensor(filters)
        M._check_same("conv2d_transpose", x, w)
        dims, hint = shape_arg(output_shape, "conv2d_transpose")
        if is_tensor(dims):
            raise ValueError("conv2d_transpose: output_shape must be known while building the graph")
        if len(dims) != 4:
            raise ValueError(f"conv2d_transpose: output_shape must have 4 entries, got {list(dims)}")
        if fmt == "NCHW":
            x = transpose(x, [0, 2, 3, 1])
            dims = (dims[0], dims[2], dims[3], dims[1])
        c_out = dims[3]
        if w.shape.rank == 4 and w.shape[2] is not None and w.shape[2] != c_out:
            raise ValueError(f"conv2d_transpose: output_shape channels {c_out} must equal filters' dimension 2 "
                             f"({w.shape[2]}), filter shape {w.shape}")
        attrs = {"input_sizes": tuple(dims),
                 "strides": _nchw_to_nhwc(_window_list(strides, "conv2d_transpose: strides"), fmt),
                 "padding": _nhwc_padding(_padding(padding, "conv2d_transpose"), fmt),
                 "dilations": _nchw_to_nhwc(_window_list(dilations, "conv2d_transpose: dilations"), fmt) or 1,
                 "data_format": "NHWC"}
        if fmt == "NCHW":
            out = apply_op("conv2d_backprop_input", [w, x], attrs)
            return transpose(out, [0, 3, 1, 2], name=scope)
        return apply_op("conv2d_backprop_input", [w, x], attrs, name=scope)


def conv2d_transpose_v1(value=None, filter=None, output_shape=None, strides=None, padding="SAME",
                        data_format="NHWC", name=None, input=None, filters=None, dilations=None):
    value = input if value is None else value
    filter = filters if filter is None else filter
    return conv2d_transpose(value, filter, output_shape, strides, padding, data_format, dilations, name)


def atrous_conv2d_transpose(value, filters, output_shape, rate, padding, name=None):
    return conv2d_transpose(value, filters, output_shape, 1, padding, dilations=rate, name=name)


# ================================================================================ pooling
def _pool(op_type, default, input, ksize, strides, padding, data_format, name):
    fmt = _data_format(data_format, default)
    attrs = {"ksize": _nchw_to_nhwc(_window_list(ksize, f"{default}: ksize"), fmt),
             "strides": _nchw_to_nhwc(_window_list(strides, f"{default}: strides"), fmt),
             "padding": _nhwc_padding(_padding(padding, default), fmt)}
    return _window_op(op_type, default, [input], attrs, fmt, name)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    return _pool("max_pool", "MaxPool2d", input, ksize, strides, padding, data_format, name)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    return _pool("avg_pool", "AvgPool2D", input, ksize, strides, padding, data_format, name)


def _rank_check(input, op):
    r = _to_tensor(input).shape.rank
    if r is not None and r != 4:
        raise ValueError(f"{op}: fuseflow supports 2-D pooling of 4-D inputs, got rank {r}")


def max_pool(input, ksize, strides, padding, data_format=None, name=None):
    _rank_check(input, "max_pool")
    return _pool("max_pool", "MaxPool", input, ksize, strides, padding, data_format, name)


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):
    _rank_check(input, "avg_pool")
    return _pool("avg_pool", "AvgPool", input, ksize, strides, padding, data_format, name)


def max_pool_v1(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    value = input if value is None else value
    return max_pool(value, ksize, strides, padding, data_format, name)


def avg_pool_v1(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    value = input if value is None else value
    return avg_pool(value, ksize, strides, padding, data_format, name)


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None):
    """sum(per_example_loss * sample_weight) / global_batch_size (default: the batch dimension)."""
    with op_scope(None, "compute_average_loss", [per_example_loss]):
        loss = _to_tensor(per_example_loss)
        if sample_weight is not None:
            loss = M.multiply(loss, M.cast(_to_tensor(sample_weight), loss.dtype) if is_tensor(sample_weight)
                              else sample_weight)
        if global_batch_size is None:
            n = loss.shape[0] if loss.shape.rank else 1
            if n is None:
                global_batch_size = M.cast(shape(loss)[0], loss.dtype)
            else:
                global_batch_size = n
        total = M.reduce_sum(loss)
        return M.truediv(total, M.cast(_to_tensor(global_batch_size), loss.dtype)
                         if is_tensor(global_batch_size) else _scalar_const(global_batch_size, loss.dtype))


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5, name=None):
    """x / (bias + alpha * sum of x^2 over the 2r+1 neighbouring channels) ** beta (NHWC)."""
    with op_scope(name, "LRN", [input]) as scope:
        x = _float_input("LRN", _to_tensor(input))
        if x.shape.rank != 4 or x.shape[3] is None:
            raise ValueError(f"LRN: input must be 4-D with a known channel dimension, got shape {x.shape}")
        c = x.shape[3]
        r = _as_int(depth_radius, "LRN: depth_radius")
        i, j = np.arange(c)[:, None], np.arange(c)[None, :]
        from .array_ops import _constant
        band = _constant((np.abs(i - j) <= r).astype(x.dtype.np), x.dtype, None, "window", True)
        sqr_sum = M.matmul(M.square(x), band)          # 0/1 weights: an exact windowed sum
        denom = M.pow(M.add(M.multiply(sqr_sum, _scalar_const(alpha, x.dtype)), _scalar_const(bias, x.dtype)),
                      _scalar_const(beta, x.dtype))
        return M.truediv(x, denom, name=scope)


lrn = local_response_normalization
