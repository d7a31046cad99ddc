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
