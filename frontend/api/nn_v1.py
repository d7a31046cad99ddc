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
