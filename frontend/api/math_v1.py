"""`tf.compat.v1.math`: TF1 signatures of the reductions and argmax/argmin."""
from .math import *  # noqa: F401,F403 - the namespace re-exports tf.math
from ..math_ops import (argmax_v1 as argmax, argmin_v1 as argmin, count_nonzero_v1 as count_nonzero,
                        reduce_all_v1 as reduce_all, reduce_any_v1 as reduce_any,
                        reduce_logsumexp_v1 as reduce_logsumexp, reduce_max_v1 as reduce_max,
                        reduce_mean_v1 as reduce_mean, reduce_min_v1 as reduce_min, reduce_prod_v1 as reduce_prod,
                        reduce_sum_v1 as reduce_sum)
from ..nn_ops import log_softmax_v1 as log_softmax, softmax_v1 as softmax
from ..math_ops import in_top_k_v1 as in_top_k
