"""`tf.nn` (TF2)."""
from ..math_ops import sigmoid, softplus, softsign, tanh
from ..nn_ops import (atrous_conv2d, atrous_conv2d_transpose, avg_pool, avg_pool2d, batch_normalization,
                      bias_add, conv1d, conv2d, conv2d_transpose, crelu, depthwise_conv2d, dropout, elu,
                      embedding_lookup, gelu, l2_loss, l2_normalize, leaky_relu, log_softmax, max_pool, max_pool2d,
                      moments, relu, relu6, selu, separable_conv2d, sigmoid_cross_entropy_with_logits, silu, softmax,
                      softmax_cross_entropy_with_logits, sparse_softmax_cross_entropy_with_logits, swish,
                      weighted_cross_entropy_with_logits, zero_fraction)
from ..nn_ops import compute_average_loss
from ..math_ops import in_top_k, top_k
from ..nn_ops import local_response_normalization, lrn


def _pool1d(pool2d, name, input, ksize, strides, padding, data_format):
    """1-D pooling as 2-D pooling over a unit height axis (TF does the same)."""
    from .. import array_ops

    def one(v, what):
        v = list(v) if isinstance(v, (list, tuple)) else [v]
        if len(v) == 3:
            v = v[1:2]
        if len(v) != 1:
            raise ValueError(f"tf.nn.{name}: {what} must be an int or a list of 1 or 3 ints, got {v}")
        return [1, v[0]]
    if data_format not in ("NWC", "NHWC", None):
        raise NotImplementedError(f"tf.nn.{name}: fuseflow supports data_format='NWC' only")
    x = array_ops.expand_dims(input, 1)
    y = pool2d(x, one(ksize, "ksize"), one(strides, "strides"), padding)
    return array_ops.squeeze(y, [1])


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    from ..nn_ops import max_pool2d
    return _pool1d(max_pool2d, "max_pool1d", input, ksize, strides, padding, data_format)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    from ..nn_ops import avg_pool2d
    return _pool1d(avg_pool2d, "avg_pool1d", input, ksize, strides, padding, data_format)


from .extra_ops import (conv_transpose, convolution, normalize_moments, pool,  # noqa: E402
                        sufficient_statistics, weighted_moments)
