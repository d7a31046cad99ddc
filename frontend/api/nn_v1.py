"""`tf.compat.v1.nn`: TF1 signatures (keep_prob dropout, labels-stopping softmax cross-entropy,
`dim=`/`keep_dims=` spellings, value/filter argument names)."""
from .nn import *  # noqa: F401,F403 - the namespace re-exports tf.nn
from ..nn_ops import (avg_pool_v1 as avg_pool, bias_add_v1 as bias_add, conv2d_transpose_v1 as conv2d_transpose,
                      conv2d_v1 as conv2d, depthwise_conv2d_v1 as depthwise_conv2d, dropout_v1 as dropout,
                      embedding_lookup_v1 as embedding_lookup, fused_batch_norm, l2_normalize, log_softmax_v1 as log_softmax,
                      max_pool_v1 as max_pool, moments_v1 as moments, relu_layer,
                      separable_conv2d_v1 as separable_conv2d,
                      sigmoid_cross_entropy_with_logits_v1 as sigmoid_cross_entropy_with_logits,
                      softmax_cross_entropy_with_logits_v1 as softmax_cross_entropy_with_logits,
                      softmax_cross_entropy_with_logits_v2, softmax_v1 as softmax,
                      sparse_softmax_cross_entropy_with_logits_v1 as sparse_softmax_cross_entropy_with_logits,
                      weighted_cross_entropy_with_logits_v1 as weighted_cross_entropy_with_logits, xw_plus_b)
from ..math_ops import in_top_k_v1 as in_top_k
from ..compat.keras_legacy_v1 import rnn_cell  # noqa: F401,E402
from ..compat.pool_argmax_v1 import max_pool_with_argmax  # noqa: F401,E402


def _spatial(v, n, what):
    """A per-spatial-dimension list of `n` ints from an int or a sequence."""
    if v is None:
        return [1] * n
    if isinstance(v, int):
        return [v] * n
    v = [int(x) for x in v]
    if len(v) != n:
        raise ValueError(f"{what} must have {n} elements, got {v}")
    return v


def convolution(input, filter=None, padding=None, strides=None, dilation_rate=None, name=None,  # noqa: A002
                data_format=None, filters=None, dilations=None):
    """TF1's N-D convolution, for 1-D (NWC) and 2-D (NHWC / NCHW) inputs."""
    from ..core import convert_to_tensor
    from ..nn_ops import conv1d, conv2d_v1
    w = filters if filters is not None else filter
    dil = dilations if dilations is not None else dilation_rate
    x = convert_to_tensor(input)
    rank = x.shape.ndims
    if rank == 3:
        s, d = _spatial(strides, 1, "strides"), _spatial(dil, 1, "dilation_rate")
        return conv1d(x, w, s[0], padding, data_format=data_format or "NWC", dilations=d[0], name=name)
    if rank == 4:
        s, d = _spatial(strides, 2, "strides"), _spatial(dil, 2, "dilation_rate")
        fmt = data_format or "NHWC"
        full = (lambda v: [1, 1] + v) if fmt == "NCHW" else (lambda v: [1] + v + [1])
        return conv2d_v1(x, w, strides=full(s), padding=padding, data_format=fmt, dilations=full(d), name=name)
    raise NotImplementedError(f"fuseflow's tf.nn.convolution supports 1-D and 2-D convolutions, got a rank-{rank} "
                              f"input")


def pool(input, window_shape, pooling_type, padding, dilation_rate=None, strides=None, name=None,  # noqa: A002
         data_format=None, dilations=None):
    """TF1's N-D pooling ('MAX' / 'AVG') for 1-D and 2-D windows without dilation."""
    from ..array_ops import expand_dims, squeeze
    from ..core import convert_to_tensor
    from ..nn_ops import avg_pool_v1, max_pool_v1
    n = len(window_shape)
    d = _spatial(dilations if dilations is not None else dilation_rate, n, "dilation_rate")
    if any(v != 1 for v in d):
        raise NotImplementedError("fuseflow's tf.nn.pool does not support dilation_rate > 1")
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"Invalid pooling_type: {pooling_type}")
    fn = max_pool_v1 if pooling_type == "MAX" else avg_pool_v1
    s = _spatial(strides, n, "strides")
    x = convert_to_tensor(input)
    if n == 1:
        y = fn(expand_dims(x, 1), [1, 1, window_shape[0], 1], [1, 1, s[0], 1], padding)
        return squeeze(y, [1], name=name)
    if n == 2:
        fmt = data_format or "NHWC"
        full = (lambda v: [1, 1] + list(v)) if fmt == "NCHW" else (lambda v: [1] + list(v) + [1])
        return fn(x, full(window_shape), full(s), padding, data_format=fmt, name=name)
    raise NotImplementedError(f"fuseflow's tf.nn.pool supports 1-D and 2-D windows, got {n}-D")
