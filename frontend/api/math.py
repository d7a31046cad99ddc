"""`tf.math` (TF2)."""
from ..array_ops import segment_sum, unsorted_segment_sum
from ..math_ops import (abs, accumulate_n, acos, acosh, add, add_n, argmax, argmin, asin, asinh, atan, atan2,
                        atanh, ceil, cos, cosh, count_nonzero, cumprod, cumsum, divide, equal, erf,
                        erfc, exp, expm1, floor, floordiv, floormod, greater, greater_equal, is_finite, is_inf,
                        is_nan, less, less_equal, log, log1p, log_sigmoid, logical_and, logical_not, logical_or,
                        logical_xor, maximum, minimum, mod, multiply, multiply_no_nan, negative, not_equal, pow,
                        realdiv, reciprocal, reduce_all, reduce_any, reduce_euclidean_norm, reduce_logsumexp,
                        reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance,
                        rint, round, rsqrt, scalar_mul, sigmoid, sign, sin, sinh, softplus, softsign, sqrt, square,
                        squared_difference, subtract, tan, tanh, truediv, truncatediv, truncatemod, xdivy, xlogy)
from ..nn_ops import l2_normalize, log_softmax, softmax, zero_fraction
from ..math_ops import div_no_nan as divide_no_nan
from ..math_ops import confusion_matrix, in_top_k, top_k
from ..math_ops import bincount
from .extra_ops import (segment_max, segment_mean, segment_min, segment_prod, unsorted_segment_max,
                        unsorted_segment_mean, unsorted_segment_min, unsorted_segment_prod,
                        unsorted_segment_sqrt_n)
from .extra_ops import polyval  # noqa: E402
from .extra_ops import (cumulative_logsumexp, invert_permutation, is_non_decreasing,  # noqa: E402
                        is_strictly_increasing, reciprocal_no_nan, xlog1py)
